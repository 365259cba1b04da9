from __future__ import annotations

from typing import Optional

import typer

from ..netflixext import Importer
from ._common import DRY_RUN, JOBS, JSON, ROOT, emit_json, say, settings_of

NAME = "import-netflixext"
HELP = ("Import the environments, packages and aliases metaflow-netflixext resolved and cached under SEED_ROOT "
        "(its CONDA_S3ROOT, ...): mfci records, pointers and aliases, without resolving.")


def run(
    ctx: typer.Context,
    seed_root: str = typer.Argument(..., metavar="SEED_ROOT", help="The seed's store root: a path, file://, "
                                    "s3://, gs:// or azure:// URL (such as s3://bucket/metaflow/conda_env)."),
    root: Optional[str] = ROOT,
    jobs: int = JOBS,
    dry_run: bool = DRY_RUN,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    seed = settings.open_store(seed_root)
    store = settings.open_store(root)
    if not dry_run:
        store.ensure_writable()
    result = Importer(settings, seed, store, jobs, dry_run, progress=None if as_json else say).run()
    for error in result.errors:
        say(f"error: {seed.url}/{error['what']}: {error['message']}")
    counted = sum(e["status"] == "imported" for e in result.envs)
    verb = "would import" if dry_run else "imported"
    say(f"mfci import-netflixext: {verb} {len(result.envs) if dry_run else counted} environments and "
        f"{len(result.aliases)} aliases from {seed.url} into {store.url}"
        + (f"; {len(result.errors)} could not be imported" if result.errors else ""))
    if as_json:
        emit_json({"envs": result.envs, "aliases": result.aliases, "errors": result.errors, "dry_run": dry_run})
    if result.errors:
        raise typer.Exit(1)
