from __future__ import annotations

from typing import List, Optional

import typer

from ..check import check
from ..status import Status
from ._common import (
    ARCHS,
    CONFIG_VALUES,
    CONFIGS,
    EXCLUDES,
    JOBS,
    JSON,
    PATHS,
    PYTHONS,
    ROOT,
    flow_options,
    report,
    say,
    settings_of,
)

NAME = "check"
HELP = "Exit 0 when every step environment under PATHs is published for every arch, else 1 (no writes)."


def run(
    ctx: typer.Context,
    paths: Optional[List[str]] = PATHS,
    arch: Optional[List[str]] = ARCHS,
    python: Optional[List[str]] = PYTHONS,
    root: Optional[str] = ROOT,
    jobs: int = JOBS,
    exclude: Optional[List[str]] = EXCLUDES,
    config: Optional[List[str]] = CONFIGS,   # NAME=PATH: see cli.PAIRS
    config_value: Optional[List[str]] = CONFIG_VALUES,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    options, known = flow_options(settings, paths, arch, python, jobs, None, exclude, config, config_value)
    store = settings.open_store(root)
    plan = check(settings, store, options, known)
    if plan.flows:
        say(plan.discovery_line(options.paths))
    for line in plan.notes:
        say(line)
    missing = [row for row in plan.rows if row.status == Status.MISSING]
    for row in missing:
        say(f"missing: {row.requirement.file} step {row.requirement.step} on {row.arch} "
            f"(python {row.spec.python}, spec {row.spec.spec_id[:12]})")
    report(plan, "check", ("hit", "missing", "failed", "skipped"), f"in {store.url}", as_json)
    if missing:
        say(f"mfci check: run `mfci warm {' '.join(options.paths)}` to publish what is missing")
    if missing or plan.errors:
        raise typer.Exit(1)
