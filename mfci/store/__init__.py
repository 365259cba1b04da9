"""Opening the store: from --root, else from configuration, the same way everywhere."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..errors import UsageError
from .base import ObjectMissing, Store, Versioned, VersionConflict

__all__ = ["ObjectMissing", "Store", "Versioned", "VersionConflict", "default_root", "open_store"]

CLOUD_SCHEMES = {"s3": "CONDA_S3ROOT", "gs": "CONDA_GSROOT", "azure": "CONDA_AZUREROOT"}


def default_root() -> str:
    """CONDA_LOCALROOT, else <DATASTORE_SYSROOT_LOCAL>/mfci, else the user data folder."""
    from .. import config

    configured = config.get("CONDA_LOCALROOT")
    if configured:
        return configured
    sysroot = config.raw("METAFLOW_DATASTORE_SYSROOT_LOCAL")
    if sysroot:
        return os.path.join(str(sysroot), "mfci")
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("mfci"), "store")


def open_store(root: str | None = None) -> Store:
    root = root or default_root()
    scheme = urlsplit(root).scheme if "://" in root else ""
    if scheme in ("", "file"):
        path = Path(url2pathname(urlsplit(root).path)) if scheme else Path(root)
        from .local import LocalStore

        return LocalStore(path.expanduser().absolute())
    if scheme in CLOUD_SCHEMES:
        raise UsageError(f"store root {root}: {scheme}:// stores are not available yet")
    raise UsageError(f"store root {root}: unknown scheme {scheme}:// (use a path or file://)")
