"""Run the real ``news-search serve`` (waitress) in a subprocess on a free port, for end-to-end tests
(the same helper as the reliability drill's, :func:`tools.reliability.serve`)."""

from __future__ import annotations

from tools.reliability import Server, child_env, serve

__all__ = ["Server", "child_env", "serve"]
