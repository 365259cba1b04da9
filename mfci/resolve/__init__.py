"""Choosing the resolver for a spec from configuration."""

from __future__ import annotations

from ..errors import UsageError, WorkError
from ..spec import EnvSpec
from .base import ResolutionFailed, Resolver

__all__ = ["ResolutionFailed", "Resolver", "resolver_for"]


def resolver_for(spec: EnvSpec) -> Resolver:
    from .. import config

    if spec.kind != "pypi":
        raise WorkError(f"{spec.kind} environments are not supported yet (only @pypi / @pypi_base)")
    choice = config.get("CONDA_PYPI_DEPENDENCY_RESOLVER")
    system = config.get("CONDA_SYS_DEFAULT_PACKAGES")
    index = config.get("CONDA_DEFAULT_PYPI_SOURCE")
    if choice == "none":
        raise WorkError("PyPI resolution is disabled (METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=none)")
    if choice == "pip":
        from .pypi_pip import PipResolver

        return PipResolver(system, index)
    if choice == "uv":
        from .pypi_uv import UvResolver

        return UvResolver(system, index)
    raise UsageError(f"METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER={choice!r} is not a resolver")
