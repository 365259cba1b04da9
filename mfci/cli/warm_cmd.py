from __future__ import annotations

import os
from collections import Counter
from typing import List, Optional

import typer

from .. import config
from ..errors import UsageError
from ..store import open_store
from ..warm import Warmer, WarmOptions
from ._common import JSON, ROOT, check_archs, emit_json, say
from ._progress import Reporter

# Resolutions and downloads mostly wait on the index: more of them than cores pays off.
DEFAULT_JOBS = max(8, os.cpu_count() or 1)
NAME = "warm"
HELP = "Resolve and publish every @pypi/@conda step environment under PATHs, for every arch."


def run(
    paths: Optional[List[str]] = typer.Argument(None, help="Flow files or folders (default: .)."),
    arch: Optional[List[str]] = typer.Option(None, "--arch", help="Target arch; repeatable. Default: CONDA_ALL_ARCHS."),
    python: Optional[List[str]] = typer.Option(None, "--python", help="Python X.Y for steps that do not pin one; repeatable."),
    root: Optional[str] = ROOT,
    jobs: int = typer.Option(DEFAULT_JOBS, "--jobs", "-j", min=1,
                             help="Parallel resolutions and downloads (flows run at most one per core)."),
    as_json: bool = JSON,
) -> None:
    archs = check_archs(arch)
    pythons = list(dict.fromkeys(python or [config.get("CONDA_MFCI_PYTHON")]))
    for version in pythons:
        if not version.replace(".", "").isdigit():
            raise UsageError(f"--python {version!r}: expected a version such as 3.11")
    store = open_store(root)
    reporter = Reporter()
    try:
        plan = Warmer(store, reporter).warm(WarmOptions(paths or ["."], archs, pythons, jobs))
    finally:
        reporter.close()
    counts = Counter(row.status for row in plan.rows)
    for error in plan.errors:
        where = error["file"] + (f" step {error['step']}" if error["step"] else "")
        say(f"error: {where}: {error['message']}")
    say("mfci warm: " + ", ".join(f"{counts[s]} {s}" for s in ("resolved", "hit", "failed", "skipped"))
        + f" step environments into {store.url}")
    if as_json:
        emit_json({"envs": [row.to_json() for row in plan.rows], "errors": plan.errors})
    if plan.errors:
        raise typer.Exit(1)
