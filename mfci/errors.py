"""The two kinds of failure a user can meet, each with its documented exit code, and how
a process leaves with the code it decided."""

import os
import sys


class MfciError(Exception):
    """A failure the user can act on: one line, no traceback."""

    exit_code = 1


class UsageError(MfciError):
    """Bad option, bad configuration value, unknown scheme or arch: exit 2."""

    exit_code = 2


class WorkError(MfciError):
    """Some work (a flow, an environment, a download) failed: exit 1."""

    exit_code = 1


def exit_truthfully(code: int) -> None:
    """Leave now with `code`. py-rattler's native threads have crashed interpreters at
    shutdown (SIGSEGV after solve/install/index); skipping finalisation keeps the status true."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
