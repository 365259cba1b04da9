"""The resolvers of one run, built once from the settings (as Metaflow builds its solvers
once in `validate_environment`) and handed each spec: PyPI, conda, or both."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError, WorkError
from ..indexes import TOOL_INDEX_VARIABLES, IndexConfig
from ..secrets import scrub
from ..spec import EnvSpec
from .base import ChannelUnreachable, ResolutionFailed, Resolver

__all__ = ["ChannelUnreachable", "ResolutionFailed", "Resolver", "Resolvers", "ResolverSettings"]


@dataclass(frozen=True)
class ResolverSettings:
    pypi_resolver: str
    conda_resolver: str
    mixed_resolver: str
    indexes: IndexConfig
    channels: tuple[str, ...]            # as configured (credentials included)
    cache_dir: Path
    tool_timeout: float
    environment: dict = field(repr=False, default_factory=dict)  # for the tools, without index variables

    @classmethod
    def of(cls, settings) -> "ResolverSettings":
        environment = {k: v for k, v in settings.environ.items() if k not in TOOL_INDEX_VARIABLES}
        return cls(settings["CONDA_PYPI_DEPENDENCY_RESOLVER"], settings["CONDA_DEPENDENCY_RESOLVER"],
                   settings["CONDA_MIXED_DEPENDENCY_RESOLVER"], settings.indexes,
                   settings.conda_channels, settings.cache_dir, settings["CONDA_MFCI_TOOL_TIMEOUT"], environment)


class Resolvers:
    """Each resolver made on first use, then shared by every spec of the run."""

    def __init__(self, settings: ResolverSettings, builds):
        self.settings = settings
        self.builds = builds            # SourceBuilds: wheels built from source distributions
        self._pypi = self._conda = None

    def pypi(self):
        if self._pypi is None:
            choice = self.settings.pypi_resolver
            if choice == "none":
                raise WorkError("PyPI resolution is disabled (METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=none)")
            if choice == "pip":
                from .pypi_pip import PipResolver

                self._pypi = PipResolver(self.settings)
            else:
                from .pypi_uv import UvResolver

                self._pypi = UvResolver(self.settings, self.builds)
        return self._pypi

    def conda(self):
        if self._conda is None:
            choice = self.settings.conda_resolver
            if choice == "none":
                raise WorkError("conda resolution is disabled (METAFLOW_CONDA_DEPENDENCY_RESOLVER=none)")
            channels = {scrub(c): c for c in self.settings.channels}
            if choice == "rattler":
                from .conda import RattlerResolver

                self._conda = RattlerResolver(channels, self.settings.cache_dir / "rattler")
            else:
                binary = shutil.which(choice)
                if binary is None:
                    raise UsageError(f"METAFLOW_CONDA_DEPENDENCY_RESOLVER={choice}: no {choice} on PATH "
                                     "(unset it to use the built-in rattler solver, which needs no binary)")
                from .conda_binary import BinaryCondaResolver

                self._conda = BinaryCondaResolver(binary, channels, self.settings)
        return self._conda

    def for_spec(self, spec: EnvSpec) -> Resolver:
        if spec.kind == "pypi":
            return self.pypi()
        if spec.kind == "conda":
            return self.conda()
        if self.settings.mixed_resolver == "none":
            raise WorkError("mixed conda+PyPI resolution is disabled (METAFLOW_CONDA_MIXED_DEPENDENCY_RESOLVER=none)")
        from .mixed import MixedResolver
        from .pypi_uv import UvResolver

        pypi = self.pypi()
        if not isinstance(pypi, UvResolver):
            raise UsageError("mixed environments need METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=uv")
        return MixedResolver(self.conda(), pypi)
