"""What the action tells GitHub about one mfci run: step outputs, the job summary and
`::error` annotations. Pure functions of mfci's --json object (stdlib only)."""

from __future__ import annotations

import os
from collections import Counter

STATUS_MARK = {"resolved": "✅ resolved", "hit": "✅ hit", "failed": "❌ failed", "missing": "❌ missing",
               "skipped": "➖ skipped"}
TITLES = {"warm": "mfci warm", "check": "mfci check", "merge": "mfci manifest merge"}


def outputs(result: dict) -> dict[str, str]:
    counts = Counter(env["status"] for env in result.get("envs", []))
    return {"resolved": str(counts["resolved"]), "hits": str(counts["hit"]),
            "failed": str(len(result.get("errors", []))), "missing": str(counts["missing"]),
            "manifest": result.get("manifest") or ""}


def repo_relative(file: str, workspace: str) -> str:
    """The path GitHub attaches an annotation to: relative to the checkout."""
    relative = os.path.relpath(os.path.abspath(file), os.path.abspath(workspace))
    return file if relative.startswith("..") else relative


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(file: str | None, title: str, message: str, level: str = "error") -> str:
    """One `::error` (or `::warning`) workflow command; escaped so no message can start a
    command of its own."""
    where = f"file={_property(file)}," if file else ""
    return f"::{level} {where}title={_property(title)}::{_data(message)}"


def annotations(mode: str, result: dict, workspace: str) -> list[str]:
    title = TITLES[mode]
    lines = [annotation(repo_relative(e["file"], workspace) if os.path.isfile(e["file"]) else None, title,
                        (f"step {e['step']}: " if e.get("step") else "") + e["message"])
             for e in result.get("errors", [])]
    missing: dict[tuple[str, str], list[str]] = {}
    for env in result.get("envs", []):
        if env["status"] == "missing":
            missing.setdefault((env["file"], env["step"]), []).append(env["arch"])
    for (file, step), archs in sorted(missing.items()):
        lines.append(annotation(repo_relative(file, workspace), title,
                                f"step {step}: environment not published for {', '.join(sorted(set(archs)))}; "
                                "run mfci warm (or the action with mode warm) on this commit"))
    return lines


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _size(size: int | None) -> str:
    if not size:
        return ""
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def summary(mode: str, result: dict, failure: str | None = None) -> str:
    """The job summary: a title, counts, a flow × step × arch table, then each error."""
    title = "### " + TITLES[mode] + (f" (shard {result['shard']})" if result.get("shard") else "")
    if failure:
        return f"{title}\n\n❌ {_cell(failure)}\n"
    if mode == "merge":
        return (f"{title}\n\nMerged {len(result.get('parts', []))} shard parts of `{result.get('repository')}` "
                f"at `{str(result.get('ref'))[:12]}` into `{result.get('manifest')}`.\n")
    counts = outputs(result)
    shown = ("resolved", "hits", "failed") if mode == "warm" else ("hits", "missing", "failed")
    blocks = [title, ", ".join(f"**{counts[name]}** {name}" for name in shown)]
    found = result.get("discovery")
    if found:
        failed = f", {found['failed']} failed to load" if found.get("failed") else ""
        blocks.append(f"{found['flows']} flow files found in {found['scanned']} Python files scanned{failed}.")
    envs = sorted(result.get("envs", []), key=lambda e: (e["file"], e["flow"], e["step"], e["arch"], e["python"] or ""))
    if envs:
        table = ["| flow | step | arch | python | status | environment | size | time |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for env in envs:
            seconds = env.get("seconds")
            table.append("| " + " | ".join(_cell(v) for v in (
                env["flow"], env["step"], env["arch"], env["python"], STATUS_MARK.get(env["status"], env["status"]),
                (env.get("env_id") or "")[:12], _size(env.get("size")),
                f"{seconds:.1f} s" if seconds is not None else "")) + " |")
        blocks.append("\n".join(table))
    errors = [f"- ❌ `{_cell(e['file'] + (' step ' + e['step'] if e.get('step') else ''))}`: {_cell(e['message'])}"
              for e in result.get("errors", [])]
    if errors:
        blocks.append("\n".join(errors))
    if result.get("manifest"):
        blocks.append(f"Manifest: `{result['manifest']}`")
    return "\n\n".join(blocks) + "\n"
