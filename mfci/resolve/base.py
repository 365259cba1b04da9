"""What every resolver answers: for one spec and one arch, the exact files."""

from __future__ import annotations

import re
from typing import Protocol

from ..errors import WorkError
from ..record import PackageFile
from ..spec import EnvSpec


class ResolutionFailed(WorkError):
    """The spec cannot be satisfied for the arch; the message says why."""


class Resolver(Protocol):
    name: str

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]: ...


def one_line(output: str, limit: int = 400) -> str:
    """A tool's error output as one readable line."""
    lines = [re.sub(r"\s+", " ", line).strip(" ╰─▶│") for line in output.splitlines()]
    text = " ".join(line for line in lines if line)
    return text if len(text) <= limit else text[: limit - 1] + "…"
