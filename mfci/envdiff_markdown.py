"""An EnvDiff as GitHub markdown: one table per flow (collapsed when long), the archs
that change alike on one row; what the pull-request comment and the job summary show."""

from __future__ import annotations

from itertools import groupby

from .envdiff import ADDED, REMOVED, EnvDiff, StepChange
from .plan import counted

MARKER = "<!-- mfci-diff -->"   # how the pull-request comment is found again, to update it in place
COLLAPSE_ROWS = 12              # a flow with more rows than this is shown folded
LISTED = 6                      # packages named on the row of a step added or removed
CHANGE_LABELS = {ADDED: "➕ added", REMOVED: "➖ removed", "changed": "✏️ changed"}


def markdown(diff: EnvDiff) -> str:
    base = diff.base
    steps = {(c.file, c.flow, c.step) for c in diff.changes}
    title = (f"### mfci: this pull request changes {counted(len(steps), 'step environment')}" if steps else
             "### mfci: no step environment changes")
    lines = [MARKER, title, "", f"Compared with {base['description']}.", ""]
    for (file, flow), changes in groupby(sorted(diff.changes, key=lambda c: (c.file, c.flow)),
                                         key=lambda c: (c.file, c.flow)):
        rows = _rows(list(changes))
        heading = f"**{flow}** (`{file}`)"
        table = ["| step | arch | change | package | base | this PR |", "|---|---|---|---|---|---|",
                 *(f"| {' | '.join(row)} |" for row in rows)]
        if len(rows) > COLLAPSE_ROWS:
            lines += [f"<details><summary>{heading}: {counted(len(rows), 'change')}</summary>", "", *table, "",
                      "</details>", ""]
        else:
            lines += [heading, "", *table, ""]
    if diff.unchanged:
        lines.append(f"{counted(diff.unchanged, 'other step environment')} (per arch) unchanged.")
    for error in diff.errors:
        where = f"`{error['file']}`" + (f" step `{error['step']}`" if error.get("step") else "")
        lines.append(f"> ⚠️ {where}: {_cell(error['message'])}")
    return "\n".join(lines).rstrip() + "\n"


def _rows(changes: list[StepChange]) -> list[list[str]]:
    """Rows of (step, archs, change, package, base, this PR); rows alike but for the arch
    become one row naming the archs."""
    by_content: dict[tuple, list[str]] = {}
    for change in changes:
        for content in _contents(change):
            by_content.setdefault((change.step, *content), []).append(change.arch)
    return [[f"`{step}`", ", ".join(sorted(set(archs))), *rest] for (step, *rest), archs in by_content.items()]


def _contents(change: StepChange) -> list[tuple[str, str, str, str]]:
    if change.change in (ADDED, REMOVED):
        packages = change.added or change.removed
        listed = ", ".join(f"{name} {version}" for name, version in packages[:LISTED])
        listed += f" (+{len(packages) - LISTED} more)" if len(packages) > LISTED else ""
        summary = f"python {change.python or change.base_python}; {counted(len(packages), 'package')}"
        sides = ("", summary) if change.change == ADDED else (summary, "")
        return [(CHANGE_LABELS[change.change] + " step", _cell(listed) or "(none)", *sides)]
    rows = []
    if change.python:
        rows.append(("🐍 interpreter", "python", change.base_python or "", change.python))
    rows += [(CHANGE_LABELS["changed"], name, base, new) for name, base, new in change.changed]
    rows += [(CHANGE_LABELS[ADDED], name, "", version) for name, version in change.added]
    rows += [(CHANGE_LABELS[REMOVED], name, version, "") for name, version in change.removed]
    return rows


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
