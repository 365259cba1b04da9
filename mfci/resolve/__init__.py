"""Choosing the resolver for a spec from configuration: PyPI, conda, or both."""

from __future__ import annotations

from functools import lru_cache

from ..errors import UsageError, WorkError
from ..spec import EnvSpec
from .base import ResolutionFailed, Resolver

__all__ = ["ResolutionFailed", "Resolver", "resolver_for"]


@lru_cache(maxsize=1)  # one per process: it remembers wheels it built from sdists
def _pypi():
    from .. import config

    choice = config.get("CONDA_PYPI_DEPENDENCY_RESOLVER")
    system = config.get("CONDA_SYS_DEFAULT_PACKAGES")
    index = config.get("CONDA_DEFAULT_PYPI_SOURCE")
    if choice == "none":
        raise WorkError("PyPI resolution is disabled (METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=none)")
    if choice == "pip":
        from .pypi_pip import PipResolver

        return PipResolver(system, index)
    from ..cache import LocalPackages
    from .pypi_uv import UvResolver

    return UvResolver(system, index, LocalPackages(config.cache_dir() / "pkgs"))


@lru_cache(maxsize=1)
def _conda():
    from .. import config
    from ..urls import scrub
    from .conda import RattlerResolver

    choice = config.get("CONDA_DEPENDENCY_RESOLVER")
    if choice == "none":
        raise WorkError("conda resolution is disabled (METAFLOW_CONDA_DEPENDENCY_RESOLVER=none)")
    channels = {scrub(c): c for c in config.conda_channels()}
    if choice != "rattler":
        import shutil

        binary = shutil.which(choice)
        if binary is None:
            raise UsageError(f"METAFLOW_CONDA_DEPENDENCY_RESOLVER={choice}: no {choice} on PATH "
                             "(unset it to use the built-in rattler solver, which needs no binary)")
        from .conda_binary import BinaryCondaResolver

        return BinaryCondaResolver(binary, channels)
    return RattlerResolver(channels, config.cache_dir() / "rattler")


def resolver_for(spec: EnvSpec) -> Resolver:
    from .. import config

    if spec.kind == "pypi":
        return _pypi()
    if spec.kind == "conda":
        return _conda()
    if config.get("CONDA_MIXED_DEPENDENCY_RESOLVER") == "none":
        raise WorkError("mixed conda+PyPI resolution is disabled (METAFLOW_CONDA_MIXED_DEPENDENCY_RESOLVER=none)")
    from .mixed import MixedResolver
    from .pypi_uv import UvResolver

    pypi = _pypi()
    if not isinstance(pypi, UvResolver):
        raise UsageError("mixed environments need METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=uv")
    return MixedResolver(_conda(), pypi)
