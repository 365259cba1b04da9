from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import config
from ..create import current_arch
from ..layout import Layout
from ..lookup import LocalPins, Policy, find
from ..store import open_store
from ._common import JSON, PYTHON, ROOT, check_archs, emit_json, say, step_spec

NAME = "lookup"
HELP = "Find the published environment of a flow's step (CONDA_USE_REMOTE_LATEST applies)."


def run(
    flow_file: Path = typer.Argument(..., help="The flow file."),
    step: str = typer.Option(..., "--step", help="The step name."),
    arch: Optional[str] = typer.Option(None, "--arch", help="Arch (default: this machine's)."),
    python: Optional[str] = PYTHON,
    root: Optional[str] = ROOT,
    as_json: bool = JSON,
) -> None:
    chosen = check_archs([arch])[0] if arch else current_arch()
    store = open_store(root)
    spec = step_spec(flow_file, step, python)
    policy = Policy.parse(config.get("CONDA_USE_REMOTE_LATEST"), config.username())
    record = find(store, Layout.from_config(), spec.spec_id, chosen, policy, LocalPins(config.cache_dir() / "pins"))
    if record is None:
        say(f"mfci: no environment for {flow_file} step {step} on {chosen} (spec {spec.spec_id[:12]}) "
            f"in {store.url}; run `mfci warm {flow_file}`")
        raise typer.Exit(1)
    data = {
        "spec_id": record.spec_id, "env_id": record.env_id, "arch": record.arch, "python": record.python,
        "resolved_by": record.resolved_by, "resolved_at": record.resolved_at,
        "packages": [{"name": p.name, "version": p.version, "url": p.url, "sha256": p.sha256, "kind": p.kind}
                     for p in record.packages],
    }
    if as_json:
        emit_json(data)
        return
    print(f"{record.env_id}  {record.arch}  python {record.python}  spec {record.spec_id[:12]}  "
          f"by {record.resolved_by} at {record.resolved_at}")
    for package in record.packages:
        print(f"  {package.name}=={package.version}  {package.filename}")
