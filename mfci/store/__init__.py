"""Opening the store: from --root, else from the settings, the same way everywhere."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..errors import UsageError
from .base import ObjectMissing, Store, StoreSettings, VersionConflict, Versioned

__all__ = ["ObjectMissing", "Store", "StoreSettings", "Versioned", "VersionConflict", "open_store"]

# URL scheme -> (module, class), imported on use: each imports its own SDK.
CLOUD_BACKENDS = {"s3": ("s3", "S3Store"), "gs": ("gcs", "GCSStore"), "azure": ("azure", "AzureStore")}


def open_store(root: str, settings: StoreSettings | None = None) -> Store:
    """The store at a root URL (a path, file://, s3://, gs:// or azure://)."""
    settings = settings or StoreSettings()
    scheme = urlsplit(root).scheme if "://" in root else ""
    if scheme in ("", "file"):
        path = Path(url2pathname(urlsplit(root).path)) if scheme else Path(root)
        from .local import LocalStore

        return LocalStore(path.expanduser().absolute())
    if scheme in CLOUD_BACKENDS:
        module, backend = CLOUD_BACKENDS[scheme]
        return getattr(import_module(f".{module}", __package__), backend)(root, settings)
    raise UsageError(f"store root {root}: unknown scheme {scheme}:// (use a path, file://, s3://, gs:// or azure://)")
