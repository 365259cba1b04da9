from __future__ import annotations

import sys
from typing import Optional

import typer

from ..objects import Manifest, read_object
from ._common import JSON, ROOT, emit_json, settings_of

NAME = "show"
HELP = "List what the store holds: flow, step, arch, spec, env, who resolved it and when."

COLUMNS = ("flow", "step", "arch", "python", "spec_id", "env_id", "resolved_by", "resolved_at")


def _cell(entry: dict, column: str) -> str:
    value = str(entry.get(column) or "")
    if column.endswith("_id"):
        return value[:12]
    if column == "resolved_at":
        return value[:16].replace("T", " ")
    return value


def run(ctx: typer.Context, root: Optional[str] = ROOT, as_json: bool = JSON) -> None:
    settings = settings_of(ctx)
    store = settings.open_store(root)
    entries = []
    for key in store.list(settings.layout.manifests):
        manifest = read_object(store, key, Manifest.from_json)
        for entry in manifest.entries.values() if manifest else ():
            entries.append({"repository": manifest.repository, **entry})
    entries.sort(key=lambda e: (str(e.get("file", "")), str(e.get("step", "")), str(e.get("arch", "")),
                                str(e.get("python") or "")))
    if as_json:
        emit_json({"root": store.url, "envs": entries})
        return
    if not entries:
        print(f"nothing published in {store.url} yet; run `mfci warm`")
        return
    # An arch resolved alone (its versions may differ from its other archs'): say why.
    columns = COLUMNS + (("note",) if any(entry.get("note") for entry in entries) else ())
    rows = [[_cell(entry, column) for column in columns] for entry in entries]
    if not sys.stdout.isatty():  # logs and pipes: plain aligned columns, nothing cut
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
        for row in [list(columns), *rows]:
            print("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=store.url)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
