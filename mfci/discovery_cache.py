"""Discovery results kept by content: a flow is run again only when something it used changed.

An entry is keyed by the flow file's path and bytes, the `--config` / `--config-value`
pairs the flow was given, plus a fingerprint of everything the pre-imported Metaflow
process read before the flow ran (python, mfci's and Metaflow's code and versions, the
installed distributions, Metaflow's profile files, METAFLOW_*/CONDA_* settings). It holds the flow's dump and what the flow itself used while it ran (recorded by
`flow_runner`): files opened or imported, folders listed, environment variables read, each
with a digest (None: it did not exist). An entry is used only when every one of those still
has the same digest, so editing a flow, a module it imports or a config file it reads, or
adding a module where an import looks, runs the flow again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from .io.files import atomic_write, read_json_file

FORMAT = 2   # 2: the Configs given are part of the key
# Set by discovery itself (a scratch folder per run): not an input of the flow.
OWN_VARIABLES = {"METAFLOW_DATASTORE_SYSROOT_LOCAL", "PYTHONDONTWRITEBYTECODE"}
SETTING_PREFIXES = ("METAFLOW_", "CONDA_")
NOT_RECORDED = ("/dev/", "/proc/", "/sys/")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: str) -> str | None:
    try:
        return _sha256(Path(path).read_bytes())
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "folder"
    except OSError:
        return "unreadable"


def folder_digest(path: str) -> str | None:
    try:
        return _sha256("\n".join(sorted(os.listdir(path))).encode())
    except OSError:
        return None


def variable_digest(environment: dict, name: str) -> str | None:
    value = environment.get(name)
    return None if value is None else _sha256(value.encode())


def _installed_distributions() -> list[str]:
    """Names (with versions) of every distribution on sys.path: a changed install changes them."""
    names = []
    for entry in sys.path:
        try:
            names += [name for name in os.listdir(entry) if name.endswith((".dist-info", ".egg-info", ".pth"))]
        except OSError:
            continue
    return sorted(names)


def _extension_sources() -> dict[str, str | None]:
    """mfci's Metaflow extension (the `dump` command): its code may change without a version bump."""
    folder = Path(__file__).resolve().parents[1] / "metaflow_extensions" / "mfci"
    return {str(path.relative_to(folder)): file_digest(str(path)) for path in sorted(folder.rglob("*.py"))}


def _profile_files(environment: dict) -> dict[str, str | None]:
    home = Path(environment.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()
    try:
        return {path.name: file_digest(str(path)) for path in sorted(home.glob("config*.json"))}
    except OSError:
        return {}


def fingerprint(environment: dict) -> str:
    """What every flow's dump depends on before the flow's own code runs."""
    settings = {name: value for name, value in environment.items()
                if name.startswith(SETTING_PREFIXES) and name not in OWN_VARIABLES}
    inputs = {
        "format": FORMAT,
        "python": [sys.executable, sys.version],
        "versions": {name: metadata.version(name) for name in ("mfci", "metaflow")},
        "extension": _extension_sources(),
        "installed": _installed_distributions(),
        "profile": _profile_files(environment),
        "settings": settings,
    }
    return _sha256(json.dumps(inputs, sort_keys=True).encode())


def dependency_digests(used: dict, environment: dict, ignored_roots: tuple[str, ...]) -> dict:
    """Digests of what a flow used (as flow_runner recorded it), minus what the fingerprint covers."""

    def recorded(path: str) -> bool:
        return not path.startswith(NOT_RECORDED) and not any(
            path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in ignored_roots)

    return {
        "files": {path: file_digest(path) for path in used["files"] if recorded(path)},
        "folders": {path: folder_digest(path) for path in used["folders"] if recorded(path)},
        "variables": {name: variable_digest(environment, name) for name in used["variables"]
                      if name not in OWN_VARIABLES},
    }


def still_current(depends: dict, environment: dict) -> bool:
    return (all(file_digest(path) == digest for path, digest in depends["files"].items())
            and all(folder_digest(path) == digest for path, digest in depends["folders"].items())
            and all(variable_digest(environment, name) == digest for name, digest in depends["variables"].items()))


class DiscoveryCache:
    """One JSON file per (flow path, flow bytes, Configs given, fingerprint) under the mfci
    cache folder. A Config file's contents are not in the key: the flow read it, so it is
    among what the entry depends on."""

    def __init__(self, folder: Path, environment: dict, configs: tuple = ()):
        self.folder = folder
        self.environment = environment
        self.fingerprint = _sha256(json.dumps([fingerprint(environment), list(configs)]).encode())

    def _path(self, flow: Path) -> Path | None:
        content = file_digest(str(flow))
        if content is None:
            return None
        key = _sha256(f"{self.fingerprint}\0{flow.absolute()}\0{content}".encode())
        return self.folder / key[:2] / f"{key}.json"

    def get(self, flow: Path) -> dict | None:
        """The flow's cached dump, if nothing it used has changed."""
        path = self._path(flow)
        entry = read_json_file(path) if path else None
        if not isinstance(entry, dict) or not isinstance(entry.get("depends"), dict) or "dump" not in entry:
            return None
        try:
            if not still_current(entry["depends"], self.environment):
                return None
        except (AttributeError, KeyError, TypeError):
            return None
        return entry["dump"]

    def put(self, flow: Path, dump: dict, depends: dict) -> None:
        path = self._path(flow)
        if path is None:
            return
        try:
            atomic_write(path, json.dumps({"dump": dump, "depends": depends}).encode())
        except OSError:
            pass  # a cache: the flow simply runs again next time
