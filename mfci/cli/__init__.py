"""The `mfci` command: one module per subcommand, errors turned into one line + exit code.

The settings are read once, here, and handed to every command through typer's context."""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import typer

from .. import faults
from ..dns import remember_lookups
from ..errors import MfciError, exit_truthfully
from ..secrets import scrub_text

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


# Each command's module, in the order help lists them. Only the command asked for is
# imported and declared: a command pays neither for the others' imports nor for typer's
# reading of their options (a tenth of a second together, a third of a no-op warm).
COMMANDS = {"warm": "warm_cmd", "check": "check_cmd", "diff": "diff_cmd", "resolve": "resolve_cmd",
            "alias": "alias_cmd", "lookup": "lookup_cmd", "create": "create_cmd", "show": "show_cmd",
            "verify": "verify_cmd", "export": "export_cmd", "gc": "gc_cmd", "import-netflixext": "import_cmd",
            "config": "config_cmd", "manifest": "manifest_cmd"}


def _declare(argv: list[str]) -> None:
    """The command argv names, or all of them (for help, or a name that is none)."""
    words = [token for token in argv if not token.startswith("-")]
    for name in [words[0]] if words and words[0] in COMMANDS else COMMANDS:
        module = importlib.import_module(f".{COMMANDS[name]}", __package__)
        if hasattr(module, "app"):   # a command with subcommands of its own
            app.add_typer(module.app, name=module.NAME)
        else:
            app.command(module.NAME, help=module.HELP)(module.run)


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
        argv = _joined_pairs(sys.argv[1:])
        _declare(argv)
        result = app(args=argv, standalone_mode=False)
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
