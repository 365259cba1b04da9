"""Run by a remote task before its step: build the step's environment from the store.

The worker has its image's python and the flow's code package (Metaflow, mfci's pure
Python part, filelock) — no mfci dependencies, no uv, no internet. uv itself comes
from the store's remote-installer folder, where `mfci warm` put the build for each arch.

    python -m mfci.bootstrap --root URL --record KEY --installers DIR --packages DIR --prefix DIR
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

from .cache import LocalPackages, PackageCache
from .create import create
from .errors import MfciError, WorkError, exit_truthfully
from .layout import Layout
from .record import EnvRecord, PackageFile
from .store import ObjectMissing, open_store

WORK = Path(".mfci-bootstrap")


def fetch_tool(store, layout: Layout, tool: str, arch: str, local: LocalPackages) -> Path:
    """The verified wheel of a tool (uv, py-rattler) that `mfci warm` published for this arch."""
    try:
        pointer = json.loads(store.read(layout.installer(tool, arch)))
    except ObjectMissing:
        raise WorkError(f"no {tool} for {arch} under {store.url}/{layout.installers}; "
                        f"run `mfci warm --arch {arch}`") from None
    return PackageCache(store, layout, local).fetch(PackageFile(**pointer["package"]))


def install_uv(wheel: Path) -> str:
    """Unpack uv's binary from its wheel."""
    target = WORK / "bin" / "uv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
            target.write_bytes(archive.read(member))
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(target.absolute())


def install_rattler(wheel: Path) -> None:
    """Make py-rattler importable from its (abi3) wheel, for conda environments."""
    site = WORK / "site"
    if not (site / "rattler").is_dir():
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    sys.path.insert(0, str(site.absolute()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mfci.bootstrap")
    for option in ("--root", "--record", "--installers", "--packages", "--prefix"):
        parser.add_argument(option, required=True)
    parser.add_argument("--lock-timeout", type=float,
                        default=float(os.environ.get("METAFLOW_CONDA_LOCK_TIMEOUT", 3600)))
    arguments = parser.parse_args(argv)
    try:
        store = open_store(arguments.root)
        layout = Layout(packages=arguments.packages, installers=arguments.installers)
        record = EnvRecord.from_bytes(store.read(arguments.record))
        local = LocalPackages(WORK / "pkgs")
        uv = install_uv(fetch_tool(store, layout, "uv", record.arch, local))
        if any(package.kind == "conda" for package in record.packages):
            install_rattler(fetch_tool(store, layout, "py-rattler", record.arch, local))
        note = lambda line: print(f"mfci bootstrap: {line}", file=sys.stderr, flush=True)  # noqa: E731
        python = create(record, Path(arguments.prefix).absolute(), PackageCache(store, layout, local, note=note),
                        uv, WORK / "locks", arguments.lock_timeout).python
    except (MfciError, OSError, ValueError, KeyError) as error:
        print(f"mfci bootstrap: {error}", file=sys.stderr)
        return 1
    print(f"mfci bootstrap: environment {record.env_id[:12]} ready at {python}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    exit_truthfully(main())
