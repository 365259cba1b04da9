"""The `mfci` command: one module per subcommand, errors turned into one line + exit code."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from ..dns import remember_lookups
from ..errors import MfciError, exit_truthfully
from . import check_cmd, config_cmd, create_cmd, lookup_cmd, manifest_cmd, resolve_cmd, show_cmd, verify_cmd, warm_cmd

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
    from .. import config

    config.check_all()


for module in (warm_cmd, check_cmd, resolve_cmd, lookup_cmd, create_cmd, show_cmd, verify_cmd, config_cmd):
    app.command(module.NAME, help=module.HELP)(module.run)
app.add_typer(manifest_cmd.app, name=manifest_cmd.NAME)


def _debugging() -> bool:
    return state["debug"] or "--debug" in sys.argv or os.environ.get("METAFLOW_DEBUG_CONDA") == "1"


def _run() -> int:
    try:
        result = app(standalone_mode=False)
        return result if isinstance(result, int) else 0
    except MfciError as error:
        if _debugging():
            traceback.print_exc()
        print(f"mfci: error: {' '.join(str(error).split())}", file=sys.stderr)  # always one line
        return error.exit_code
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("mfci: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if hasattr(error, "show") and hasattr(error, "exit_code"):  # click usage errors: exit 2
            error.show()
            return error.exit_code
        if _debugging():
            traceback.print_exc()
        print(f"mfci: internal error: {type(error).__name__}: {error} (run with --debug for details)",
              file=sys.stderr)
        return 1


def main() -> None:
    remember_lookups()
    exit_truthfully(_run())
