from __future__ import annotations

from typing import List, Optional

import typer

from ..diff import diff
from ..envdiff_markdown import MARKER, markdown
from ..github import CommentFailed, PullRequest, keep_comment
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
    emit_json,
    flow_options,
    say,
    settings_of,
)
from ._progress import Reporter

NAME = "diff"
HELP = ("Markdown (or --json) of what the step environments under PATHs change against the base branch's: "
        "packages added, removed or changed, interpreters, steps added or removed (writes nothing to the store).")


def run(
    ctx: typer.Context,
    paths: Optional[List[str]] = PATHS,
    base: str = typer.Option(..., "--base", metavar="REF", help="The base branch, tag or commit (a pull request's "
                             "base); a full commit id may be one this clone does not have."),
    arch: Optional[List[str]] = ARCHS,
    python: Optional[List[str]] = PYTHONS,
    root: Optional[str] = ROOT,
    jobs: int = JOBS,
    exclude: Optional[List[str]] = EXCLUDES,
    config: Optional[List[str]] = CONFIGS,   # NAME=PATH: see cli.PAIRS
    config_value: Optional[List[str]] = CONFIG_VALUES,
    comment: bool = typer.Option(False, "--comment", help="Also keep one comment on the pull request saying it, "
                                 "edited in place on every push (GitHub Actions: GITHUB_TOKEN with "
                                 "pull-requests: write); a failure is one warning, never the exit status."),
    as_json: bool = JSON,
) -> None:
    settings = settings_of(ctx)
    options, known = flow_options(settings, paths, arch, python, jobs, None, exclude, config, config_value)
    store = settings.open_store(root)
    reporter = Reporter()
    try:
        result = diff(settings, store, options, base, reporter, known)
    finally:
        reporter.close()
    text = markdown(result)
    for line in result.notes:
        say(line)
    for error in result.errors:
        say(f"error: {error['file']}" + (f" step {error['step']}" if error.get("step") else "") + f": {error['message']}")
    steps = len({(c.file, c.flow, c.step) for c in result.changes})
    say(f"mfci diff: {steps} step environments changed, {result.unchanged} unchanged (per arch); "
        f"base: {result.base['source']} of {result.base['commit'][:12]}")
    if comment:
        try:
            pull = PullRequest.from_environ(settings.environ)
            say(f"mfci diff: comment {keep_comment(pull, text, MARKER)} on {pull}")
        except CommentFailed as error:
            say(f"mfci diff: warning: no pull-request comment: {error}")
    if as_json:
        emit_json(result.to_json())
    else:
        print(text, end="")
    if result.errors:
        raise typer.Exit(1)
