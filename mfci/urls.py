"""URL handling shared by every stage: credentials never leave the process."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit


def scrub(url: str) -> str:
    """The URL without user:password@ (what may be stored, hashed or logged)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


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

    The layout Metaflow's own bootstrap reads (`<host><path>` under the package root)."""
    parts = urlsplit(scrub(url))
    host = parts.hostname or "local"
    if parts.port:
        host = f"{host}_{parts.port}"
    return safe_relative_path(f"{kind}/{host}{unquote(parts.path)}")


def filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def scrub_text(text: str) -> str:
    """Remove credentials from every URL in a tool's output."""
    return re.sub(r"(\w+://)[^/\s@]+@", r"\1", text)
