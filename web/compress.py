"""gzip for clients that accept it: pages, JSON, CSS and scripts travel a fraction of their size.

A response is compressed when the request's ``Accept-Encoding`` allows gzip, it is a whole ``200``
answer (not a range, not already encoded) of a text type, and it is large enough for compression
to pay. ``Vary: Accept-Encoding`` tells caches that the answer depends on that header.
"""

from __future__ import annotations

import gzip

from flask import Flask, request

#: Bodies smaller than this go as they are (a gzip header and trailer would eat the gain).
MIN_SIZE = 500
#: zlib's level: 6 (the default) compresses HTML nearly as well as 9, in much less time.
LEVEL = 6
#: The types worth compressing (images here are already compressed, or tiny).
TYPES = ("text/", "application/json", "application/javascript", "image/svg+xml")


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip`` or ``*``, not with ``q=0``)."""
    allowed = {}
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[name.strip()] = quality
    if "gzip" in allowed:
        return allowed["gzip"] > 0
    return allowed.get("*", 0) > 0


def _compress(response):
    if (
        response.status_code != 200
        or "Content-Encoding" in response.headers
        or "Content-Range" in response.headers
        or not response.mimetype.startswith(TYPES)
        or response.is_streamed and not response.direct_passthrough
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip(request.headers.get("Accept-Encoding", "")):
        return response
    response.direct_passthrough = False  # a static file: read it to compress it
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    tag, _ = response.get_etag()
    if tag:  # the same content in another encoding: the same tag, weak (If-None-Match still matches)
        response.set_etag(tag, weak=True)
    return response


def install(app: Flask) -> None:
    """Compress the app's responses for clients that accept gzip."""
    app.after_request(_compress)


__all__ = ["LEVEL", "MIN_SIZE", "accepts_gzip", "install"]
