"""The one way mfci runs another program (uv, pip, conda binaries, git, flows).

- every call has a timeout, and runs in a session of its own: on timeout the whole
  process group is killed, helpers it started included; so are helpers left behind
  when it exits;
- output goes to files, not pipes: a detached helper that inherited them cannot keep
  the caller waiting for an end of file;
- a failure keeps the tool's own error text whole (uv's "because…" chain), with every
  secret scrubbed, so the one error line says what the tool said.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkError
from ..secrets import scrub_text

# A tool's error text is kept whole up to this size (the end is kept: that is where
# the reason is).
ERROR_TEXT_LIMIT = 8000


class ToolFailed(WorkError):
    """A program failed or timed out; the message is its own account of why."""


class ToolTimedOut(ToolFailed):
    """A program ran past its timeout and was stopped, with its whole process group."""


@dataclass(frozen=True)
class Completed:
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        """What the tool said went wrong, as one line: scrubbed, whitespace folded."""
        return one_line(self.stderr.strip() or self.stdout.strip() or f"exit status {self.returncode}")


def one_line(text: str) -> str:
    """A tool's (multi-line, box-drawn) message as one scrubbed line, kept whole up to a
    limit (then its end, where the reason is)."""
    lines = [re.sub(r"\s+", " ", line).strip(" ╰─▶│├") for line in text.splitlines()]
    folded = scrub_text(" ".join(line for line in lines if line))
    return folded if len(folded) <= ERROR_TEXT_LIMIT else "…" + folded[-ERROR_TEXT_LIMIT:]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(command: list[str], *, timeout: float, what: str, cwd: Path | str | None = None,
        env: dict | None = None, input: str | None = None, check: bool = False) -> Completed:
    """Run a program to completion (or kill it and its group at `timeout` seconds).

    `what` names the work in messages ("resolving for linux-64"). With check=True a
    non-zero exit raises ToolFailed("<what> failed: <the tool's own words>")."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=out, stderr=err,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as error:
            raise ToolFailed(f"{what} failed: cannot run {Path(command[0]).name}: {error.strerror}") from None
        try:
            process.communicate(input.encode() if input is not None else None, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
            raise ToolTimedOut(f"{what} did not finish within {timeout:.0f}s; stopped it") from None
        except BaseException:
            _kill_group(process.pid)
            process.wait()
            raise
        finally:
            _kill_group(process.pid)  # helpers it left behind in its group
        out.seek(0)
        err.seek(0)
        done = Completed(tuple(command), process.returncode,
                         out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if check and not done.ok:
        raise ToolFailed(f"{what} failed: {done.error_text()}")
    return done


@functools.cache
def _uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


_uv_lock = threading.Lock()


def uv_binary() -> str:
    """The uv that came with mfci (the `uv` distribution), whatever else is on PATH. Found
    once: finding it reads sysconfig, which threads that start at once can catch half-made."""
    with _uv_lock:
        return _uv_binary()
