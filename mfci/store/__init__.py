"""Opening the store: from --root, else from configuration, the same way everywhere."""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..errors import UsageError
from .base import ObjectMissing, Store, Versioned, VersionConflict

__all__ = ["ObjectMissing", "Store", "Versioned", "VersionConflict", "default_root", "open_store"]

# Metaflow datastore type -> (mfci's root setting, Metaflow's datastore root, URL scheme)
CLOUD_DATASTORES = {
    "s3": ("CONDA_S3ROOT", "METAFLOW_DATASTORE_SYSROOT_S3", "s3"),
    "gs": ("CONDA_GSROOT", "METAFLOW_DATASTORE_SYSROOT_GS", "gs"),
    "azure": ("CONDA_AZUREROOT", "METAFLOW_DATASTORE_SYSROOT_AZURE", "azure"),
}
# URL scheme -> (module, class), imported on use: each imports its own SDK.
CLOUD_BACKENDS = {"s3": ("s3", "S3Store"), "gs": ("gcs", "GCSStore"), "azure": ("azure", "AzureStore")}


def _local_root() -> str:
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


def default_root(datastore: str | None = None) -> str:
    """The root for a Metaflow datastore type (default: METAFLOW_DEFAULT_DATASTORE, else local):
    its CONDA_*ROOT, else Metaflow's datastore root + /mfci (not the seed's /conda_env, so
    both tools can share a bucket)."""
    from .. import config

    datastore = datastore or str(config.raw("METAFLOW_DEFAULT_DATASTORE") or "local")
    if datastore == "local":
        return _local_root()
    if datastore not in CLOUD_DATASTORES:
        raise UsageError(f"METAFLOW_DEFAULT_DATASTORE={datastore!r}: expected local, "
                         + ", ".join(CLOUD_DATASTORES))
    setting, sysroot_variable, scheme = CLOUD_DATASTORES[datastore]
    configured = config.get(setting)
    if configured:
        return configured
    sysroot = config.raw(sysroot_variable)
    if sysroot:
        return str(sysroot).rstrip("/") + "/mfci"
    raise UsageError(f"no store root for the {datastore} datastore: set METAFLOW_{setting} "
                     f"({scheme}://…) or {sysroot_variable}, or pass --root")


def open_store(root: str | None = None, datastore: str | None = None) -> Store:
    root = root or default_root(datastore)
    scheme = urlsplit(root).scheme if "://" in root else ""
    if scheme in ("", "file"):
        path = Path(url2pathname(urlsplit(root).path)) if scheme else Path(root)
        from .local import LocalStore

        return LocalStore(path.expanduser().absolute())
    if scheme in CLOUD_BACKENDS:
        module, backend = CLOUD_BACKENDS[scheme]
        return getattr(import_module(f".{module}", __package__), backend)(root)
    raise UsageError(f"store root {root}: unknown scheme {scheme}:// (use a path, file://, s3://, gs:// or azure://)")
