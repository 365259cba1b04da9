from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UsageError
from ..export import FORMATS, locate, render
from ..io.files import atomic_write
from ._common import (
    ALIAS,
    CONFIG_VALUES,
    CONFIGS,
    PATHSPEC,
    PYTHON,
    ROOT,
    STEP,
    STEP_ARCH,
    check_archs,
    find_record,
    flow_configs,
    say,
    settings_of,
)

NAME = "export"
HELP = ("Write a step's (an alias's, a run's step's) environment as a lock file other tools install: pylock.toml, "
        "requirements (pip --require-hashes), conda-explicit or conda-lock.")


def run(
    ctx: typer.Context,
    flow_file: Optional[Path] = typer.Argument(None, help="The flow file."),
    step: Optional[str] = STEP,
    alias: Optional[str] = ALIAS,
    pathspec: Optional[str] = PATHSPEC,
    arch: Optional[str] = STEP_ARCH,
    fmt: str = typer.Option(..., "--format", metavar="|".join(FORMATS), help="The lock format."),
    store_urls: bool = typer.Option(False, "--store-urls", help="Name every file by its object in the store "
                                    "(file:// for a local store, s3://, gs:// or Azure's https:// URL) instead "
                                    "of its index or channel."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here (default: stdout)."),
    python: Optional[str] = PYTHON,
    root: Optional[str] = ROOT,
    config: Optional[List[str]] = CONFIGS,   # NAME=PATH: see cli.PAIRS
    config_value: Optional[List[str]] = CONFIG_VALUES,
) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    settings = settings_of(ctx)
    store = settings.open_store(root)
    chosen = check_archs(settings, [arch])[0] if arch else None
    record = find_record(settings, flow_file, step, alias, chosen, python, store, pathspec,
                         flow_configs(config, config_value))
    files = locate(record, lambda package: store.object_url(settings.layout.package(package.key)), store_urls)
    text = render(record, fmt, files)
    if output is None:
        print(text, end="")
        return
    try:
        atomic_write(output, text.encode())
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    say(f"mfci export: {len(files)} packages of environment {record.env_id[:12]} ({record.arch}) as {fmt} "
        f"to {output}")
