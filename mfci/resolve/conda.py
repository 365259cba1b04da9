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
from .base import ChannelUnreachable, Preferences, ResolutionFailed

# rattler's account of a failed fetch: "error sending request for url (URL)" then its causes.
FETCH_FAILED = re.compile(r"for url \((?P<url>[^)\s]+)\)")
GENERIC_CAUSES = ("client error (Connect)", "client error (SendRequest)")
# The shared gateway's answer to solves that waited on a fetch another solve made, and it failed.
COALESCED = "a coalesced request failed"


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

    def __init__(self, conda_config, credentials, cache_dir: Path):
        self.conda_config = conda_config  # .condarc: where a channel name lives
        self.credentials = credentials    # auth.Credentials: the same as downloads use
        self.cache_dir = cache_dir
        self.unreachable: dict[str, ChannelUnreachable] = {}   # channel -> why, for the rest of the run
        self._lock = threading.Lock()
        self._gateway = None

    def gateway(self):
        """The run's one gateway: each channel's repodata fetched once per subdir, then
        shared by every solve (rattler caches what it fetched in the gateway)."""
        import rattler

        with self._lock:
            if self._gateway is None:
                self._gateway = rattler.Gateway(cache_dir=str(self.cache_dir))
            return self._gateway

    def sources(self, channels: tuple[str, ...]) -> list[str]:
        """Where the spec's channels (scrubbed, as ids hold them) are fetched from: as
        configured, under the channel alias, with their credentials."""
        urls = [url for channel in channels for url in self.conda_config.urls(self.credentials.configured(channel))]
        return [str(Path(url).absolute()) if url.startswith("/") else self.credentials.for_tool(url) for url in urls]

    def solve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None):
        import rattler
        from rattler.exceptions import SolverError

        sources = self.sources(spec.channels)
        platforms = [arch, "noarch"]

        async def solve():
            gateway = self.gateway()
            locked = []
            kept = {p.filename: p for p in prefer.kept("conda")} if prefer else {}
            if kept:  # the previous resolution's records: rattler prefers them
                names = sorted({p.name for p in kept.values()})
                found = await gateway.query(sources, platforms, names, recursive=False)
                locked = [r for records in found for r in records if r.file_name in kept]
            return await rattler.solve(
                sources=sources,
                specs=[python_match_spec(spec.python), *spec.conda],
                gateway=gateway,
                platforms=platforms,
                locked_packages=locked,
                virtual_packages=virtual_packages(spec.system),
            )

        for attempt in range(2):
            with self._lock:
                known = next((self.unreachable[c] for c in spec.channels if c in self.unreachable), None)
            if known is not None:
                raise known  # tried once this run: not again for every spec and arch
            try:
                return asyncio.run(solve())
            except SolverError as error:
                raise ResolutionFailed("cannot be satisfied: " + one_line(str(error))) from None
            except Exception as error:  # channel unreachable, bad repodata: rattler's own types
                if COALESCED in str(error) and attempt == 0:
                    continue  # another solve's fetch of the same repodata failed: learn its cause
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
            bases = [str(rattler.Channel(url).base_url) for url in self.sources((channel,))]
            base = next((b for b in bases if scrub(found["url"]).startswith(scrub(b))), None)
            if base is not None:
                causes = [line.strip().removeprefix("Caused by:").strip() for line in text.splitlines()[1:]]
                causes = [c for c in causes if c and c not in GENERIC_CAUSES] or [one_line(text)]
                reason = causes[0] + (f" ({causes[-1]})" if len(causes) > 1 else "")
                error = ChannelUnreachable(f"conda channel {scrub(base.rstrip('/'))} unreachable: {one_line(reason)}")
                with self._lock:
                    return self.unreachable.setdefault(channel, error)
        return None

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        return [conda_package(record) for record in self.solve(spec, arch, prefer)]
