from __future__ import annotations

from typing import List, Optional

import typer

from ..warm import Warmer
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
    settings_of,
)
from ._progress import Reporter

NAME = "warm"
HELP = "Resolve and publish every @pypi/@conda step environment under PATHs, for every arch."


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
    shard: Optional[str] = typer.Option(
        None, "--shard", metavar="I/N", help="Only shard I of N of the (spec, arch) work list, for a "
        "matrix of N jobs; the manifest then waits for `mfci manifest merge`."),
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    options, known = flow_options(settings, paths, arch, python, jobs, shard, exclude, config, config_value)
    store = settings.open_store(root)
    store.ensure_writable()
    reporter = Reporter()
    warmer = Warmer(settings, store, reporter)
    try:
        plan = warmer.warm(options, known)
    finally:
        reporter.close()
    where = f"into {store.url}" + ("" if options.shard.whole else f" (shard {options.shard})")
    report(plan, "warm", ("resolved", "hit", "failed", "skipped"), where, as_json,
           manifest=f"{store.url}/{warmer.manifest}" if warmer.manifest else None)
    if plan.errors:
        raise typer.Exit(1)
