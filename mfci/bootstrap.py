"""Run by a remote task before its step: build the step's environment from the store.

The worker has its image's python and the flow's code package (Metaflow, mfci's pure
Python part, filelock) — no mfci dependencies, no uv, no internet. uv itself comes
from the store's remote-installer folder, where `mfci warm` put the build for each arch.

    python -m mfci.bootstrap --root URL --record KEY --installer KEY --packages DIR --prefix DIR
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

from .cache import LocalPackages, PackageCache, verify
from .create import create
from .errors import MfciError
from .layout import Layout
from .record import EnvRecord, PackageFile
from .store import open_store

WORK = Path(".mfci-bootstrap")


def install_uv(store, layout: Layout, installer_key: str, local: LocalPackages) -> str:
    """Fetch the uv wheel for this arch from the store and unpack its binary."""
    pointer = json.loads(store.read(installer_key))
    wheel = PackageFile(**pointer["package"])
    path = PackageCache(store, layout, local).fetch(wheel)
    verify(path, wheel, store.url)
    target = WORK / "bin" / "uv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path) as archive:
            member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
            target.write_bytes(archive.read(member))
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(target.absolute())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mfci.bootstrap")
    for option in ("--root", "--record", "--installer", "--packages", "--prefix"):
        parser.add_argument(option, required=True)
    parser.add_argument("--lock-timeout", type=float,
                        default=float(os.environ.get("METAFLOW_CONDA_LOCK_TIMEOUT", 3600)))
    arguments = parser.parse_args(argv)
    try:
        store = open_store(arguments.root)
        layout = Layout(packages=arguments.packages)
        record = EnvRecord.from_bytes(store.read(arguments.record))
        local = LocalPackages(WORK / "pkgs")
        uv = install_uv(store, layout, arguments.installer, local)
        python = create(record, Path(arguments.prefix).absolute(), PackageCache(store, layout, local),
                        uv, WORK / "locks", arguments.lock_timeout)
    except (MfciError, OSError, ValueError, KeyError) as error:
        print(f"mfci bootstrap: {error}", file=sys.stderr)
        return 1
    print(f"mfci bootstrap: environment {record.env_id[:12]} ready at {python}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
