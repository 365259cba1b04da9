from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import config
from ..cache import LocalPackages, PackageCache
from ..create import create, current_arch, default_locks
from ..layout import Layout
from ..resolve.pypi_uv import uv_binary
from ..store import open_store
from ._common import ALIAS, PYTHON, ROOT, STEP, find_record, say

NAME = "create"
HELP = "Build a step's (or an alias's) environment for this machine from the store alone (every file checked)."


def run(
    flow_file: Optional[Path] = typer.Argument(None, help="The flow file."),
    step: Optional[str] = STEP,
    alias: Optional[str] = ALIAS,
    prefix: Path = typer.Option(..., "--prefix", help="Folder to create the environment in (new or empty)."),
    python: Optional[str] = PYTHON,
    root: Optional[str] = ROOT,
) -> None:
    store = open_store(root)
    record = find_record(flow_file, step, alias, current_arch(), python, store)
    cache_root = config.cache_dir()
    environment = create(record, prefix.absolute(), PackageCache(store, Layout.from_config(), LocalPackages(cache_root / "pkgs"), note=say),
                         uv_binary(), default_locks(cache_root), config.get("CONDA_LOCK_TIMEOUT"))
    state = "built" if environment.built else "already there"
    say(f"mfci: environment {record.env_id[:12]} ({len(record.packages)} packages) {state}")
    print(environment.python)
