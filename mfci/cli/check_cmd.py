from __future__ import annotations

from typing import List, Optional

import typer

from ..check import check
from ..store import open_store
from ._common import ARCHS, JOBS, JSON, PATHS, PYTHONS, ROOT, flow_options, report, say

NAME = "check"
HELP = "Exit 0 when every step environment under PATHs is published for every arch, else 1 (no writes)."


def run(
    paths: Optional[List[str]] = PATHS,
    arch: Optional[List[str]] = ARCHS,
    python: Optional[List[str]] = PYTHONS,
    root: Optional[str] = ROOT,
    jobs: int = JOBS,
    as_json: bool = JSON,
) -> None:
    options = flow_options(paths, arch, python, jobs)
    store = open_store(root)
    plan = check(store, options)
    missing = [row for row in plan.rows if row.status == "missing"]
    for row in missing:
        say(f"missing: {row.requirement.file} step {row.requirement.step} on {row.arch} "
            f"(python {row.spec.python}, spec {row.spec.spec_id[:12]})")
    report(plan, "check", ("hit", "missing", "failed", "skipped"), f"in {store.url}", as_json)
    if missing:
        say(f"mfci check: run `mfci warm {' '.join(options.paths)}` to publish what is missing")
    if missing or plan.errors:
        raise typer.Exit(1)
