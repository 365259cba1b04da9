"""The two kinds of failure a user can meet, each with its documented exit code."""


class MfciError(Exception):
    """A failure the user can act on: one line, no traceback."""

    exit_code = 1


class UsageError(MfciError):
    """Bad option, bad configuration value, unknown scheme or arch: exit 2."""

    exit_code = 2


class WorkError(MfciError):
    """Some work (a flow, an environment, a download) failed: exit 1."""

    exit_code = 1
