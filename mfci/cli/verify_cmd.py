from __future__ import annotations

from typing import Optional

import typer

from ..verify import verify
from ._common import JSON, ROOT, emit_json, say, settings_of

NAME = "verify"
HELP = "Check every invariant of a store: records, package bytes, pointers, aliases, manifests."


def run(
    ctx: typer.Context,
    root: Optional[str] = ROOT,
    hashes: bool = typer.Option(True, "--hashes/--no-hashes", help="Also download every package and check its sha256."),
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    store = settings.open_store(root)
    report = verify(store, settings.layout, check_bytes=hashes)
    for violation in report.violations:
        say(f"violation: {violation}")
    ignored = f", {report.ignored} objects mfci did not write ignored" if report.ignored else ""
    say(f"mfci verify: {report.records} records, {report.packages} packages, {report.pointers} pointers; "
        f"{len(report.violations)} violations in {store.url}{ignored}")
    if as_json:
        emit_json(report.to_json())
    if report.violations:
        raise typer.Exit(1)
