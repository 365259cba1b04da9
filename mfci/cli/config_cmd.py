from __future__ import annotations

import typer

from .. import config
from ..errors import UsageError
from ..store import default_root

NAME = "config"
HELP = "Show every setting mfci reads and its effective value (--markdown: README's table)."


def run(markdown: bool = typer.Option(False, "--markdown", help="Print the README table.")) -> None:
    if markdown:
        print(config.markdown_table())
        return
    try:
        root = default_root()
    except UsageError as error:  # an unset cloud root is worth showing, not failing on
        root = f"none ({error})"
    print(f"store root (no --root): {root}")
    print(f"cache folder: {config.cache_dir()}")
    for option in config.OPTIONS:
        if option.status == config.HONOURED:
            print(f"{option.variable} = {config.get(option.name)!r}")
