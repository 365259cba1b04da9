"""The `mfci` command: one module per subcommand, errors turned into one line + exit code."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from ..errors import MfciError
from . import config_cmd, create_cmd, lookup_cmd, show_cmd, warm_cmd

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Resolve Metaflow @pypi/@conda environments in CI; start flows without solving.",
)
state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors.")) -> None:
    state["debug"] = debug


for module in (warm_cmd, lookup_cmd, create_cmd, show_cmd, config_cmd):
    app.command(module.NAME, help=module.HELP)(module.run)


def _debugging() -> bool:
    return state["debug"] or "--debug" in sys.argv or os.environ.get("METAFLOW_DEBUG_CONDA") == "1"


def main() -> None:
    try:
        app(standalone_mode=False)
    except MfciError as error:
        if _debugging():
            traceback.print_exc()
        print(f"mfci: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("mfci: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as error:  # click usage errors carry their own exit code (2)
        exit_code = getattr(error, "exit_code", None)
        if exit_code is not None and hasattr(error, "show"):
            error.show()
            sys.exit(exit_code)
        if _debugging():
            traceback.print_exc()
        print(f"mfci: internal error: {type(error).__name__}: {error} (run with --debug for details)",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
