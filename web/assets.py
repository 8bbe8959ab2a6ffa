"""Static files under versioned URLs: ``/static/style.css?v=<hash of the file>``.

Pages link to each file with the first characters of its content's SHA-256, so a browser may keep
it for a year without asking again (``Cache-Control: max-age=31536000, immutable``): a changed file
has another hash, hence another URL, and the next page fetches it. A request without the version,
or with one that is not the file's current hash (a page from before a change), is answered
``no-cache`` as before, so it is never pinned to stale content.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, current_app, request, url_for

#: Hex digits of the hash in a URL: enough to tell versions of one file apart.
HASH_LENGTH = 12
#: A year, the longest lifetime caches are asked to honour.
MAX_AGE = 31536000

_hashes: dict[tuple[str, int, int], str] = {}


def file_hash(filename: str) -> str | None:
    """The version of static file ``filename``: the start of its SHA-256 (None when there is no
    such file). Kept per file, size and modification time, so an edited file gets a new one."""
    path = os.path.join(current_app.static_folder, filename)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        with open(path, "rb") as handle:
            _hashes[key] = hashlib.sha256(handle.read()).hexdigest()[:HASH_LENGTH]
    return _hashes[key]


def static_url(filename: str) -> str:
    """The URL of a static file, with its version when it exists."""
    version = file_hash(filename)
    return url_for("static", filename=filename, **({"v": version} if version else {}))


def _cache_versioned(response):
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get("v")
    filename = (request.view_args or {}).get("filename", "")
    if version and version == file_hash(filename):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE
        response.cache_control.immutable = True
    return response


def install(app: Flask) -> None:
    """Offer ``static_url`` to templates and send versioned static files as immutable."""
    app.add_template_global(static_url)
    app.after_request(_cache_versioned)


__all__ = ["HASH_LENGTH", "MAX_AGE", "file_hash", "install", "static_url"]
