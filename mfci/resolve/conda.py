"""Conda resolution with py-rattler for any target arch: no conda, mamba or micromamba."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..io.process import one_line
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec, python_match_spec
from ..urls import package_key
from .base import ResolutionFailed


def virtual_packages(system: dict) -> list:
    """A spec's virtual packages (its arch's, plus the GPU ones of a GPU step on Linux)."""
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    packages = []
    for name, value in sorted(system.items()):
        version, _, build = str(value).partition("=")
        packages.append(GenericVirtualPackage(PackageName(name), Version(version), BuildString(build or "0")))
    return packages


def conda_package(record) -> PackageFile:
    if record.sha256 is None:
        raise ResolutionFailed(f"{record.file_name}: the channel gives no sha256")
    url = scrub(str(record.url))
    return PackageFile(
        name=record.name.normalized,
        version=str(record.version),
        kind="conda",
        url=url,
        filename=record.file_name,
        sha256=record.sha256.hex(),
        size=record.size,
        key=package_key("conda", url),
        md5=record.md5.hex() if record.md5 else None,
    )


class RattlerResolver:
    name = "rattler"

    def __init__(self, channels: dict[str, str], cache_dir: Path):
        self.channels = channels          # scrubbed (as in specs) -> as configured
        self.cache_dir = cache_dir

    def _source(self, channel: str) -> str:
        configured = self.channels.get(channel, channel)
        return str(Path(configured).absolute()) if configured.startswith("/") else configured

    def solve(self, spec: EnvSpec, arch: str):
        import rattler
        from rattler.exceptions import SolverError

        async def solve():
            return await rattler.solve(
                sources=[self._source(c) for c in spec.channels],
                specs=[python_match_spec(spec.python), *spec.conda],
                gateway=rattler.Gateway(cache_dir=str(self.cache_dir)),
                platforms=[arch, "noarch"],
                virtual_packages=virtual_packages(spec.system),
            )

        try:
            return asyncio.run(solve())
        except SolverError as error:
            raise ResolutionFailed("cannot be satisfied: " + one_line(str(error))) from None
        except Exception as error:  # channel unreachable, bad repodata: rattler's own types
            raise ResolutionFailed(f"conda solve failed: {one_line(str(error))}") from None

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]:
        return [conda_package(record) for record in self.solve(spec, arch)]
