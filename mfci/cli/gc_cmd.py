from __future__ import annotations

from typing import Optional

import typer

from ..gc import PHASES, GcOptions, collect
from ._common import JSON, ROOT, emit_json, say, settings_of

NAME = "gc"
HELP = ("Remove the records, pointers and package files that no alias, pointer or recent manifest reaches "
        "(and that are older than --keep-days and the grace period); report what went and the bytes freed.")


def run(
    ctx: typer.Context,
    root: Optional[str] = ROOT,
    keep_manifests: int = typer.Option(3, "--keep-manifests", min=1, metavar="K",
                                       help="Manifests kept per repository: the merged one, then the shard "
                                       "parts of the newest commits."),
    keep_days: float = typer.Option(30, "--keep-days", min=0, metavar="D",
                                    help="Keep every object changed in the last D days."),
    grace: float = typer.Option(3600, "--grace", min=0, metavar="SECONDS",
                                help="Never remove an object younger than this (a warm may be publishing it)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be removed; remove nothing."),
    jobs: int = typer.Option(8, "--jobs", "-j", min=1, help="Parallel deletions within a phase."),
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    store = settings.open_store(root)
    if not dry_run:
        store.ensure_writable()
    options = GcOptions(keep_manifests, keep_days, grace, dry_run, jobs)
    report = collect(store, settings.layout, options, note=say)
    verb = "would remove" if dry_run else "removed"
    counts = ", ".join(f"{len(report.removed[kind])} {kind}{'' if len(report.removed[kind]) == 1 else 's'}"
                       for kind in PHASES)
    say(f"mfci gc: {verb} {counts}; {_size(report.bytes_freed)} {'would be ' if dry_run else ''}freed, "
        f"{report.kept} objects kept in {store.url}")
    if as_json:
        emit_json({"root": store.url, **report.to_json()})


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} bytes"
