"""A uv project's environment: no solving, the lock already says which files. For one arch
and python, the wheels `uv sync --frozen --no-dev` would install there (sha256 from the
lock, verified when stored), plus the packages Metaflow's own uv bootstrap adds for the
datastore (boto3 and the like), resolved here under the lock's versions."""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec
from ..urls import filename, package_key
from ..uvlock import Wanted, read_lock
from .base import Preferences, ResolutionFailed
from .targets import PyPITarget, best_wheel, no_wheel_fits, pypi_target
from .universal import marker_environment


class UvLockResolver:
    name = "uv.lock"

    def __init__(self, pypi):
        self.pypi = pypi   # UvResolver: for the datastore packages the lock does not hold

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        """`prefer` (--upgrade-package) does not apply: the lock is upgraded with uv itself."""
        lock = read_lock(spec.uv_lock)
        target = pypi_target(arch, spec.python, spec.system)
        locked = [_wheel(wanted, target, lock.path) for wanted in lock.select(marker_environment(arch, spec.python))]
        have = {canonicalize_name(p.name): p.version for p in locked}
        missing = [line for line in spec.pypi if not _satisfied(Requirement(line), have)]
        if not missing:
            return locked
        pins = [f"{p.name}=={p.version}" for p in locked]
        added = self.pypi.compile(missing, spec.python, arch, spec.system, constraints=pins)
        return locked + [p for p in added if canonicalize_name(p.name) not in have]


def _satisfied(requirement: Requirement, have: dict[str, str]) -> bool:
    version = have.get(canonicalize_name(requirement.name))
    return version is not None and requirement.specifier.contains(version, prereleases=True)


def _wheel(wanted: Wanted, target: PyPITarget, lock: str) -> PackageFile:
    kind = next((k for k in ("git", "path", "directory", "editable", "virtual") if k in wanted.source), None)
    if kind:
        raise ResolutionFailed(f"{lock}: {wanted.name} comes from a {kind} source: an environment is made of "
                               "index files; publish it as a wheel on an index")
    wheels = {filename(w["url"]): w for w in wanted.wheels if isinstance(w.get("url"), str)}
    chosen = best_wheel(target, list(wheels))
    if chosen is None:
        if not wheels:
            raise ResolutionFailed(f"{lock}: {wanted.name} {wanted.version} has no wheel in the lock (source only)")
        raise ResolutionFailed(f"{lock}: {no_wheel_fits(wanted.name, wanted.version, list(wheels), target)[1]}")
    wheel = wheels[chosen]
    algorithm, _, sha256 = str(wheel.get("hash", "")).partition(":")
    if algorithm != "sha256":
        raise ResolutionFailed(f"{lock}: {chosen} has no sha256 in the lock")
    return PackageFile(wanted.name, wanted.version, "pypi", scrub(wheel["url"]), chosen, sha256, wheel.get("size"),
                       key=package_key("pypi", wheel["url"]))
