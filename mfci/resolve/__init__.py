"""The resolvers of one run, built once from the settings (as Metaflow builds its solvers
once in `validate_environment`) and handed each spec: PyPI (with its interpreter build),
conda (the channel's python), or both."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..condarc import CondaConfig
from ..errors import UsageError, WorkError
from ..indexes import TOOL_INDEX_VARIABLES, IndexConfig
from ..io.http import Downloader
from ..pythons import KnownPythons, known_pythons
from ..spec import EnvSpec
from .base import ChannelUnreachable, Preferences, ResolutionFailed, Resolver

__all__ = ["ChannelUnreachable", "Preferences", "ResolutionFailed", "Resolver", "Resolvers", "ResolverSettings"]


@dataclass(frozen=True)
class ResolverSettings:
    pypi_resolver: str
    conda_resolver: str
    mixed_resolver: str
    indexes: IndexConfig
    conda_config: CondaConfig            # .condarc: channel alias, default channels
    cache_dir: Path
    tool_timeout: float
    environment: dict = field(repr=False, default_factory=dict)  # for the tools, without index variables

    @classmethod
    def of(cls, settings) -> "ResolverSettings":
        environment = {k: v for k, v in settings.environ.items() if k not in TOOL_INDEX_VARIABLES}
        return cls(settings["CONDA_PYPI_DEPENDENCY_RESOLVER"], settings["CONDA_DEPENDENCY_RESOLVER"],
                   settings["CONDA_MIXED_DEPENDENCY_RESOLVER"], settings.indexes,
                   settings.conda_config, settings.cache_dir, settings["CONDA_MFCI_TOOL_TIMEOUT"], environment)


class Resolvers:
    """Each resolver made on first use, then shared by every spec of the run."""

    def __init__(self, settings: ResolverSettings, local, downloader: Downloader, builds,
                 known: KnownPythons | None = None):
        self.settings = settings
        self.local = local              # LocalPackages: direct-URL files learnt while resolving are kept
        self.downloader = downloader
        self.builds = builds            # SourceBuilds: wheels built from source distributions
        self.known = known              # uv's CPython builds, when the command listed them already
        self._pypi = self._conda = self._interpreters = None

    def pypi(self):
        if self._pypi is None:
            choice = self.settings.pypi_resolver
            if choice == "none":
                raise WorkError("PyPI resolution is disabled (METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=none)")
            if choice == "pip":
                from .pypi_pip import PipResolver

                self._pypi = PipResolver(self.settings, self.downloader.credentials)
            else:
                from .pypi_uv import UvResolver

                self._pypi = UvResolver(self.settings, self.builds, self.local, self.downloader)
        return self._pypi

    def conda(self):
        if self._conda is None:
            choice = self.settings.conda_resolver
            if choice == "none":
                raise WorkError("conda resolution is disabled (METAFLOW_CONDA_DEPENDENCY_RESOLVER=none)")
            credentials = self.downloader.credentials
            if choice == "rattler":
                from .conda import RattlerResolver

                self._conda = RattlerResolver(self.settings.conda_config, credentials, self.settings.cache_dir / "rattler")
            else:
                binary = shutil.which(choice)
                if binary is None:
                    raise UsageError(f"METAFLOW_CONDA_DEPENDENCY_RESOLVER={choice}: no {choice} on PATH "
                                     "(unset it to use the built-in rattler solver, which needs no binary)")
                from .conda_binary import BinaryCondaResolver

                self._conda = BinaryCondaResolver(binary, credentials, self.settings)
        return self._conda

    def interpreters(self):
        if self._interpreters is None:
            from .interpreter import Interpreters

            known = self.known or known_pythons(self.settings.environment)
            self._interpreters = Interpreters(known, self.settings.environment, self.downloader,
                                              self.settings.cache_dir)
        return self._interpreters

    def for_spec(self, spec: EnvSpec) -> Resolver:
        if spec.kind == "uv":  # the lock already says which files: nothing to solve but its interpreter
            from .interpreter import WithInterpreter
            from .uvlock import UvLockResolver

            return WithInterpreter(UvLockResolver(self._uv_pypi("uv projects")), self.interpreters())
        if spec.kind == "pypi":
            from .interpreter import WithInterpreter

            return WithInterpreter(self.pypi(), self.interpreters())
        if spec.kind == "conda":
            return self.conda()
        if self.settings.mixed_resolver == "none":
            raise WorkError("mixed conda+PyPI resolution is disabled (METAFLOW_CONDA_MIXED_DEPENDENCY_RESOLVER=none)")
        from .mixed import MixedResolver

        return MixedResolver(self.conda(), self._uv_pypi("mixed environments"))

    def _uv_pypi(self, what: str):
        from .pypi_uv import UvResolver

        pypi = self.pypi()
        if not isinstance(pypi, UvResolver):
            raise UsageError(f"{what} need METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=uv")
        return pypi
