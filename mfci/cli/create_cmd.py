from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import config
from ..cache import LocalPackages, PackageCache
from ..create import create, current_arch, default_locks
from ..layout import Layout
from ..lookup import LocalPins, Policy, find
from ..resolve.pypi_uv import uv_binary
from ..store import open_store
from ._common import PYTHON, ROOT, say, step_spec

NAME = "create"
HELP = "Build a step's environment for this machine from the store alone (every file sha256-checked)."


def run(
    flow_file: Path = typer.Argument(..., help="The flow file."),
    step: str = typer.Option(..., "--step", help="The step name."),
    prefix: Path = typer.Option(..., "--prefix", help="Folder to create the environment in (new or empty)."),
    python: Optional[str] = PYTHON,
    root: Optional[str] = ROOT,
) -> None:
    store = open_store(root)
    layout = Layout.from_config()
    spec = step_spec(flow_file, step, python)
    arch = current_arch()
    cache_root = config.cache_dir()
    policy = Policy.parse(config.get("CONDA_USE_REMOTE_LATEST"), config.username())
    record = find(store, layout, spec.spec_id, arch, policy, LocalPins(cache_root / "pins"))
    if record is None:
        say(f"mfci: no environment for {flow_file} step {step} on {arch} in {store.url}; "
            f"run `mfci warm {flow_file}`")
        raise typer.Exit(1)
    python = create(record, prefix.absolute(), PackageCache(store, layout, LocalPackages(cache_root / "pkgs")),
                    uv_binary(), default_locks(cache_root), config.get("CONDA_LOCK_TIMEOUT"))
    say(f"mfci: environment {record.env_id[:12]} ({len(record.packages)} packages) ready")
    print(python)
