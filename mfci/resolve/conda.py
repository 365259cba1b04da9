"""Conda resolution with py-rattler for any target arch: no conda, mamba or micromamba."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

from ..io.process import one_line
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec, python_match_spec
from ..urls import package_key
from .base import ChannelUnreachable, ResolutionFailed

# rattler's account of a failed fetch: "error sending request for url (URL)" then its causes.
FETCH_FAILED = re.compile(r"for url \((?P<url>[^)\s]+)\)")
GENERIC_CAUSES = ("client error (Connect)", "client error (SendRequest)")


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
        self.unreachable: dict[str, ChannelUnreachable] = {}   # channel -> why, for the rest of the run
        self._lock = threading.Lock()

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

        with self._lock:
            known = next((self.unreachable[c] for c in spec.channels if c in self.unreachable), None)
        if known is not None:
            raise known  # tried once this run: not again for every spec and arch
        try:
            return asyncio.run(solve())
        except SolverError as error:
            raise ResolutionFailed("cannot be satisfied: " + one_line(str(error))) from None
        except Exception as error:  # channel unreachable, bad repodata: rattler's own types
            unreachable = self._unreachable(spec, str(error))
            if unreachable is None:
                raise ResolutionFailed(f"conda solve failed: {one_line(str(error))}") from None
            raise unreachable from None

    def _unreachable(self, spec: EnvSpec, text: str) -> ChannelUnreachable | None:
        """The channel a fetch failed for, remembered with why (its first and last cause)."""
        import rattler

        found = FETCH_FAILED.search(text)
        if found is None:
            return None
        for channel in spec.channels:
            base = str(rattler.Channel(self._source(channel)).base_url)
            if found["url"].startswith(base):
                causes = [line.strip().removeprefix("Caused by:").strip() for line in text.splitlines()[1:]]
                causes = [c for c in causes if c and c not in GENERIC_CAUSES] or [one_line(text)]
                reason = causes[0] + (f" ({causes[-1]})" if len(causes) > 1 else "")
                error = ChannelUnreachable(f"conda channel {scrub(base.rstrip('/'))} unreachable: {one_line(reason)}")
                with self._lock:
                    return self.unreachable.setdefault(channel, error)
        return None

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]:
        return [conda_package(record) for record in self.solve(spec, arch)]
