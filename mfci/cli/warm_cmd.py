from __future__ import annotations

from typing import List, Optional

import typer

from ..warm import Warmer, WarmMode
from ._common import (
    ARCHS,
    CONFIG_VALUES,
    CONFIGS,
    DRY_RUN,
    EXCLUDES,
    JOBS,
    JSON,
    PATHS,
    PYTHONS,
    REFRESH,
    ROOT,
    UPGRADE,
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
    refresh: bool = REFRESH,
    upgrade: Optional[List[str]] = UPGRADE,
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    options, known = flow_options(settings, paths, arch, python, jobs, shard, exclude, config, config_value)
    store = settings.open_store(root)
    if not dry_run:
        store.ensure_writable()
    reporter = Reporter()
    warmer = Warmer(settings, store, reporter, mode=WarmMode.of(refresh, upgrade, dry_run), known=known)
    try:
        plan = warmer.warm(options)
    finally:
        reporter.close()
    where = f"into {store.url}" + ("" if options.shard.whole else f" (shard {options.shard})")
    statuses = ("would-resolve", "hit", "failed", "skipped") if dry_run else ("resolved", "hit", "failed", "skipped")
    report(plan, "warm" + (" --dry-run" if dry_run else ""), statuses, where, as_json,
           manifest=f"{store.url}/{warmer.manifest}" if warmer.manifest else None)
    if plan.errors:
        raise typer.Exit(1)
