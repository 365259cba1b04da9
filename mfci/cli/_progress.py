"""Progress on stderr: a rich bar on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import threading


class Reporter:
    """Called from many worker threads: one lock keeps their lines whole."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._lock = threading.Lock()
        self.bar = None
        if sys.stderr.isatty() and not quiet:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.task = None

    def total(self, count: int, what: str) -> None:
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task(f"warming {what}", total=count)
        elif not self.quiet:
            print(f"mfci: {count} distinct {what} to check", file=sys.stderr, flush=True)

    def advance(self, line: str) -> None:
        with self._lock:
            self._advance(line)

    def _advance(self, line: str) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.console.print(line, highlight=False, markup=False)
            self.bar.advance(self.task)
        elif not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def note(self, line: str) -> None:
        """A line that does not advance the bar (a long transfer starting or ending)."""
        with self._lock:
            self._note(line)

    def _note(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.print(line, highlight=False, markup=False)
        elif not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
