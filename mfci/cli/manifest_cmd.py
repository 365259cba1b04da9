from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..publish import merge_manifest_parts
from ..warm import repository_identity
from ._common import JSON, ROOT, emit_json, say, settings_of

NAME = "manifest"
HELP = "Work on the store's manifests (what warms covered)."

app = typer.Typer(no_args_is_help=True, help=HELP)


@app.command("merge", help="Make the repository's manifest for this commit from every "
             "`mfci warm --shard i/n` part; exit 1 naming any shard that has not published.")
def merge(
    ctx: typer.Context,
    path: Path = typer.Argument(Path("."), help="A folder of the repository (its name and commit come "
                                "from GITHUB_REPOSITORY and GITHUB_SHA, else from git)."),
    root: Optional[str] = ROOT,
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    store = settings.open_store(root)
    repository, ref, _top = repository_identity(path, settings.environ)
    key, parts = merge_manifest_parts(store, settings.layout, repository, ref)
    say(f"mfci manifest merge: {len(parts)} shard parts of {repository} at {ref[:12]} merged into {store.url}/{key}")
    if as_json:
        emit_json({"manifest": f"{store.url}/{key}", "repository": repository, "ref": ref,
                   "parts": [f"{store.url}/{part}" for part in parts]})
