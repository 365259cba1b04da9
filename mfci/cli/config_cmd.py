from __future__ import annotations

import typer

from .. import config
from ..errors import UsageError
from ..secrets import mask
from ._common import settings_of

NAME = "config"
HELP = "Show every setting mfci reads and its effective value, secrets masked (--markdown: README's table)."


def run(ctx: typer.Context,
        markdown: bool = typer.Option(False, "--markdown", help="Print the README table.")) -> None:
    if markdown:
        print(config.markdown_table())
        return
    settings = settings_of(ctx)
    try:
        root = mask(settings.store_root())
    except UsageError as error:  # an unset cloud root is worth showing, not failing on
        root = f"none ({error})"
    indexes = settings.indexes
    print(f"store root (no --root): {root}")
    print(f"cache folder: {settings.cache_dir}")
    print(f"user: {settings.user}")
    print(f"PyPI indexes (from {indexes.origin}): {', '.join(mask(url) for url in indexes.urls)}"
          + (f"; find-links: {', '.join(mask(url) for url in indexes.find_links)}" if indexes.find_links else ""))
    conda = settings.conda_config
    print(f"conda channels: {', '.join(mask(c) for c in settings.conda_channels)} (a name lives under "
          f"{mask(conda.channel_alias)}{'; .condarc: ' + conda.origin if conda.origin else ''})")
    for variable, value in settings.shown():
        print(f"{variable} = {value}")
