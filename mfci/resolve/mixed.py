"""Conda packages and PyPI packages in one environment.

The conda side is solved first: it fixes python and everything conda provides. uv then
resolves the PyPI side for that exact python, with every conda-provided package pinned
as a constraint, and whatever conda already provides is not installed twice. Unlike the
seed's conda-lock path, this needs no binary and both halves are exact per arch."""

from __future__ import annotations

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..record import PackageFile
from ..spec import EnvSpec
from .base import Preferences
from .conda import RattlerResolver
from .pypi_uv import UvResolver


class MixedResolver:
    name = "rattler+uv"

    def __init__(self, conda: RattlerResolver, pypi: UvResolver):
        self.conda = conda
        self.pypi = pypi

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        conda_files = self.conda.resolve(spec, arch, prefer)
        python = next((f.version for f in conda_files if f.name == "python"), spec.python)
        provided = {canonicalize_name(f.name): f.version for f in conda_files if f.name != "python"}
        constraints = [f"{name}=={version}" for name, version in sorted(provided.items()) if _is_pep440(version)]
        wheels = self.pypi.compile(list(spec.pypi), python, arch, spec.system, constraints, spec.pypi_options, prefer)
        return conda_files + [w for w in wheels if canonicalize_name(w.name) not in provided]


def _is_pep440(version: str) -> bool:
    try:
        Version(version)
        return True
    except InvalidVersion:
        return False
