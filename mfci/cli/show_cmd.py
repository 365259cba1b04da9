from __future__ import annotations

import json
from typing import Optional

from ..layout import Layout
from ..store import open_store
from ._common import JSON, ROOT, emit_json

NAME = "show"
HELP = "List what the store holds: flow, step, arch, spec, env, who resolved it and when."

COLUMNS = ("flow", "step", "arch", "spec_id", "env_id", "resolved_by", "resolved_at")


def run(root: Optional[str] = ROOT, as_json: bool = JSON) -> None:
    store = open_store(root)
    layout = Layout.from_config()
    entries = []
    for key in store.list(layout.manifests):
        manifest = json.loads(store.read(key))
        for entry in manifest.get("entries", {}).values():
            entries.append({"repository": manifest.get("repository"), **entry})
    entries.sort(key=lambda e: (e.get("file", ""), e.get("step", ""), e.get("arch", ""), e.get("python") or ""))
    if as_json:
        emit_json({"root": store.url, "envs": entries})
        return
    if not entries:
        print(f"nothing published in {store.url} yet; run `mfci warm`")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*COLUMNS, title=store.url)
    for entry in entries:
        table.add_row(*(str(entry.get(c, ""))[:12] if c.endswith("_id") else str(entry.get(c, "")) for c in COLUMNS))
    Console().print(table)
