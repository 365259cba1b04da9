"""What every resolver answers: for one spec and one arch, the exact files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from packaging.utils import canonicalize_name

from ..errors import WorkError
from ..record import PackageFile
from ..spec import EnvSpec, PypiOptions


class ResolutionFailed(WorkError):
    """The spec cannot be satisfied for the arch; the message says why."""


@dataclass(frozen=True)
class Preferences:
    """A previous resolution to stay close to (`--upgrade-package`): its versions are
    preferred, as pip-tools prefers existing pins, except for the packages to upgrade."""

    packages: tuple[PackageFile, ...]
    upgrade: tuple[str, ...]          # canonical names

    def kept(self, kind: str) -> list[PackageFile]:
        return [p for p in self.packages if p.kind == kind and canonicalize_name(p.name) not in self.upgrade]


class ChannelUnreachable(ResolutionFailed):
    """A conda channel could not be read: the cause of every resolution that uses it, to
    report once (the message names the channel, not the spec or arch)."""


class Resolver(Protocol):
    name: str

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]: ...


@dataclass(frozen=True)
class ArchResolution:
    """One arch's answer when an environment's archs are resolved together: its files or
    why it failed, and `note`, when it did not get the answer the others share."""

    files: tuple[PackageFile, ...] = ()
    error: WorkError | None = None
    note: str = ""

    def plus(self, package: PackageFile) -> "ArchResolution":
        return self if self.error else ArchResolution((*self.files, package), None, self.note)


def resolve_alone(resolver: Resolver, spec: EnvSpec, arch: str, note: str = "",
                  prefer: Preferences | None = None) -> ArchResolution:
    try:
        return ArchResolution(tuple(resolver.resolve(spec, arch, prefer)), note=note)
    except WorkError as error:
        return ArchResolution(error=error, note=note)


def resolve_archs(resolver: Resolver, specs: dict[str, EnvSpec]) -> dict[str, ArchResolution]:
    """Every arch of one environment: together when the resolver can, else one by one."""
    together = getattr(resolver, "resolve_archs", None)
    if together is not None and len(specs) > 1:
        return together(specs)
    return {arch: resolve_alone(resolver, spec, arch) for arch, spec in specs.items()}


def check_hashes(files: list[PackageFile], options: PypiOptions) -> None:
    """An environment file's `--hash` options: each named package must resolve to a file
    with one of its hashes (pip's hash-checking mode, applied to what was resolved)."""
    allowed = dict(options.hashes)
    for package in files:
        hashes = allowed.get(canonicalize_name(package.name))
        if hashes and f"sha256:{package.sha256}" not in hashes:
            raise ResolutionFailed(f"{package.filename}: sha256 {package.sha256[:16]}… is not one of the "
                                   f"--hash values the file gives for {package.name}")
