"""Paths derived from URLs: where a package lives in the store, a file's name, and the
check that no path read from an index or a record escapes its folder."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from .secrets import scrub


def safe_relative_path(path: str) -> str:
    """Reject a path from an index or a record that could escape its folder."""
    if not path or path.startswith("/") or "\\" in path:
        raise ValueError(f"unsafe path {path!r}")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or any(ord(c) < 32 for c in path):
        raise ValueError(f"unsafe path {path!r}")
    return path


def package_key(kind: str, url: str) -> str:
    """Where a package file lives under the store's packages folder: <kind>/<host>/<path>.

    The layout Metaflow's own bootstrap reads (`<host><path>` under the package root);
    always of the scrubbed URL, so no secret is ever part of a key."""
    parts = urlsplit(scrub(url))
    host = parts.hostname or "local"
    if parts.port:
        host = f"{host}_{parts.port}"
    return safe_relative_path(f"{kind}/{host}{unquote(parts.path)}")


def filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])
