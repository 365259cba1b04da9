from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..arch import current_arch
from ..create import local_installer
from ._common import (
    ALIAS,
    CONFIG_VALUES,
    CONFIGS,
    PATHSPEC,
    PYTHON,
    ROOT,
    STEP,
    find_record,
    flow_configs,
    say,
    settings_of,
)

NAME = "create"
HELP = "Build a step's (or an alias's) environment for this machine from the store alone (every file checked)."


def run(
    ctx: typer.Context,
    flow_file: Optional[Path] = typer.Argument(None, help="The flow file."),
    step: Optional[str] = STEP,
    alias: Optional[str] = ALIAS,
    pathspec: Optional[str] = PATHSPEC,
    prefix: Path = typer.Option(..., "--prefix", help="Folder to create the environment in (new or empty)."),
    python: Optional[str] = PYTHON,
    root: Optional[str] = ROOT,
    config: Optional[List[str]] = CONFIGS,   # NAME=PATH: see cli.PAIRS
    config_value: Optional[List[str]] = CONFIG_VALUES,
) -> None:
    settings = settings_of(ctx)
    store = settings.open_store(root)
    record = find_record(settings, flow_file, step, alias, current_arch(), python, store, pathspec,
                         flow_configs(config, config_value))
    environment = local_installer(settings, store, note=say).create(record, prefix.absolute())
    state = "built" if environment.built else "already there"
    say(f"mfci: environment {record.env_id[:12]} ({len(record.packages)} packages) {state}")
    print(environment.python)
