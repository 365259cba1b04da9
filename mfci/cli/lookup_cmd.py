from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._common import (
    ALIAS,
    CONFIG_VALUES,
    CONFIGS,
    JSON,
    PATHSPEC,
    PYTHON,
    ROOT,
    STEP,
    STEP_ARCH,
    check_archs,
    emit_json,
    find_record,
    flow_configs,
    settings_of,
)

NAME = "lookup"
HELP = ("Find the published environment of a flow's step, an alias or a run's step (CONDA_USE_REMOTE_LATEST "
        "applies to steps).")


def run(
    ctx: typer.Context,
    flow_file: Optional[Path] = typer.Argument(None, help="The flow file."),
    step: Optional[str] = STEP,
    alias: Optional[str] = ALIAS,
    pathspec: Optional[str] = PATHSPEC,
    arch: Optional[str] = STEP_ARCH,
    python: Optional[str] = PYTHON,
    root: Optional[str] = ROOT,
    config: Optional[List[str]] = CONFIGS,   # NAME=PATH: see cli.PAIRS
    config_value: Optional[List[str]] = CONFIG_VALUES,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    chosen = check_archs(settings, [arch])[0] if arch else None
    record = find_record(settings, flow_file, step, alias, chosen, python, settings.open_store(root), pathspec,
                         flow_configs(config, config_value))
    data = {
        "spec_id": record.spec_id, "env_id": record.env_id, "arch": record.arch, "python": record.python,
        "resolved_by": record.resolved_by, "resolved_at": record.resolved_at, "note": record.note or None,
        "packages": [{"name": p.name, "version": p.version, "url": p.url, "sha256": p.sha256, "kind": p.kind}
                     for p in record.packages],
    }
    if as_json:
        emit_json(data)
        return
    print(f"{record.env_id}  {record.arch}  python {record.python}  spec {record.spec_id[:12]}  "
          f"by {record.resolved_by} at {record.resolved_at}")
    if record.note:
        print(f"  note: {record.note}")
    for package in record.packages:
        print(f"  {package.name}=={package.version}  {package.filename}")
