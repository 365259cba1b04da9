"""What every resolver answers: for one spec and one arch, the exact files."""

from __future__ import annotations

from typing import Protocol

from ..errors import WorkError
from ..record import PackageFile
from ..spec import EnvSpec


class ResolutionFailed(WorkError):
    """The spec cannot be satisfied for the arch; the message says why."""


class ChannelUnreachable(ResolutionFailed):
    """A conda channel could not be read: the cause of every resolution that uses it, to
    report once (the message names the channel, not the spec or arch)."""


class Resolver(Protocol):
    name: str

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]: ...
