"""The `mfci` command: one module per subcommand, errors turned into one line + exit code.

The settings are read once, here, and handed to every command through typer's context."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from .. import faults
from ..dns import remember_lookups
from ..errors import MfciError, exit_truthfully
from ..secrets import scrub_text
from . import (
    alias_cmd,
    check_cmd,
    config_cmd,
    create_cmd,
    diff_cmd,
    export_cmd,
    gc_cmd,
    import_cmd,
    lookup_cmd,
    manifest_cmd,
    resolve_cmd,
    show_cmd,
    verify_cmd,
    warm_cmd,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Resolve Metaflow @pypi/@conda environments in CI; start flows without solving.",
)
state = {"debug": False}


def _version(asked: bool) -> None:
    if asked:
        from .. import __version__

        print(f"mfci {__version__}")
        raise typer.Exit()


@app.callback()
def _root(ctx: typer.Context, debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print mfci's version and exit.")) -> None:
    from ..config import Settings

    state["debug"] = debug
    ctx.obj = Settings.load()
    state["debug"] = debug or ctx.obj.debug


for module in (warm_cmd, check_cmd, diff_cmd, resolve_cmd, alias_cmd, lookup_cmd, create_cmd, show_cmd, verify_cmd,
               export_cmd, gc_cmd, import_cmd, config_cmd):
    app.command(module.NAME, help=module.HELP)(module.run)
app.add_typer(manifest_cmd.app, name=manifest_cmd.NAME)


# Metaflow's own spelling, `--config NAME PATH` (repeatable), is an option of two values,
# which typer cannot declare: each pair reaches the command as one NAME=PATH value.
PAIRS = ("--config", "--config-value")


def _joined_pairs(argv: list[str]) -> list[str]:
    joined, index = [], 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return joined + argv[index:]
        if token in PAIRS and index + 2 < len(argv):
            joined += [token, f"{argv[index + 1]}={argv[index + 2]}"]
            index += 3
            continue
        joined.append(token)
        index += 1
    return joined


def _debugging() -> bool:
    # Before the settings are read (a malformed one), the environment is all there is.
    return state["debug"] or "--debug" in sys.argv or os.environ.get("METAFLOW_DEBUG_CONDA") == "1"


def _run() -> int:
    try:
        result = app(args=_joined_pairs(sys.argv[1:]), standalone_mode=False)
        return result if isinstance(result, int) else 0
    except MfciError as error:
        if _debugging():
            traceback.print_exc()
        print(f"mfci: error: {scrub_text(' '.join(str(error).split()))}", file=sys.stderr)  # always one line
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
        print(f"mfci: internal error: {type(error).__name__}: {scrub_text(str(error))} (run with --debug for details)",
              file=sys.stderr)
        return 1


def main() -> None:
    remember_lookups()
    faults.arm(os.environ)
    exit_truthfully(_run())
