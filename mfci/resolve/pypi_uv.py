"""PyPI resolution with `uv pip compile` for a foreign platform, read from pylock.toml.

Wheels only, as a foreign platform needs. When no wheel of a requirement fits a target,
the index is asked what wheels do exist: wheels for the target's platform that need a
newer OS than the target's floor are one line saying so (nothing is built: a build here
would not run there either); a requirement published as source only is built into a
wheel here (`builds`, once per store), and used on an arch only if the built wheel fits
it (a pure-Python one fits all); for this machine's own arch, a version without a wheel
for its python or platform is built too. uv gets the run's indexes through its
environment (never on its command line, where `ps` shows credentials) and no
configuration of its own, so that resolution and downloads use the same indexes."""

from __future__ import annotations

import re
import tempfile
import threading
import time
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..arch import current_arch
from ..io.process import Completed, run, uv_binary
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec
from ..urls import filename, package_key
from .base import ResolutionFailed
from .builds import SourceBuilds
from .targets import (
    PyPITarget,
    best_wheel,
    current_arch_tags,
    no_wheel_fits,
    pypi_target,
)

NO_WHEELS = re.compile(r"Wheels are required for `([^`]+)`")
BUILD_ATTEMPTS = 5
# Parallel uv processes start at least this far apart: each looks the index host up on
# start, and resolvers in CI sandboxes stall lookups made at the same instant (5 s here).
LAUNCH_GAP_SECONDS = 0.15
_launch_lock = threading.Lock()
_last_launch = [0.0]


def _staggered(command: list[str], **kwargs) -> Completed:
    with _launch_lock:
        wait = _last_launch[0] + LAUNCH_GAP_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_launch[0] = time.monotonic()
    return run(command, **kwargs)


class UvResolver:
    name = "uv"

    def __init__(self, settings, builds: SourceBuilds):
        self.settings = settings            # ResolverSettings
        self.builds = builds                # wheels built from source distributions

    def _environment(self, target: PyPITarget) -> dict:
        environment = {**self.settings.environment, **self.settings.indexes.uv_environment(),
                       "UV_NO_PROGRESS": "1", "UV_PYTHON_DOWNLOADS": "never"}
        if target.macos_target:
            environment["MACOSX_DEPLOYMENT_TARGET"] = target.macos_target
        return environment

    def command(self, target: PyPITarget, requirements: Path, output: Path,
                constraints: Path | None, sdist_only: list[str]) -> list[str]:
        command = [
            uv_binary(), "pip", "compile", str(requirements), "--no-config",
            "--python-platform", target.uv_platform,
            "--python-version", target.python,
            "--only-binary", ":all:",
            "--no-header", "--quiet",
            "-o", str(output),
        ]
        for name in sdist_only:
            command += ["--no-binary", name]
        if constraints:
            command += ["--constraint", str(constraints)]
        return command

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]:
        return self.compile(list(spec.pypi), spec.python, arch, spec.system)

    def compile(self, requirements: list[str], python: str, arch: str, system: dict,
                constraints: list[str] = ()) -> list[PackageFile]:
        """Exact wheels for the requirements on the arch (given its virtual packages),
        optionally under constraints."""
        target = pypi_target(arch, python, system)
        with tempfile.TemporaryDirectory(prefix="mfci-uv-") as scratch:
            requirements_file = Path(scratch, "requirements.in")
            requirements_file.write_text("\n".join(requirements) + "\n")
            constraints_file = Path(scratch, "constraints.txt") if constraints else None
            if constraints_file:
                constraints_file.write_text("\n".join(constraints) + "\n")
            output = Path(scratch, "pylock.toml")
            sdist_only: list[str] = []
            for _ in range(BUILD_ATTEMPTS):
                done = _staggered(self.command(target, requirements_file, output, constraints_file, sdist_only),
                                  timeout=self.settings.tool_timeout, what=f"resolving for {arch}",
                                  env=self._environment(target), cwd=scratch)
                missing = [name for name in NO_WHEELS.findall(done.stderr) if name not in sdist_only]
                if done.ok or not missing:
                    break
                for name in missing:
                    self._check_buildable(name, requirements, target)
                sdist_only += missing
            if not done.ok:
                raise ResolutionFailed(done.error_text())
            lock = tomllib.loads(output.read_text())
        return [self._package(entry, target) for entry in lock.get("packages", [])]

    def _package(self, entry: dict, target: PyPITarget) -> PackageFile:
        wheels = {filename(wheel["url"]): wheel for wheel in entry.get("wheels", [])}
        if not wheels and entry.get("sdist"):
            return self._built(entry, target)
        chosen = best_wheel(target, list(wheels))
        if chosen is None:
            raise ResolutionFailed(
                f"{entry['name']} {entry.get('version', '')}: no wheel for {target.arch} python {target.python}"
            )
        wheel = wheels[chosen]
        return PackageFile(
            name=entry["name"],
            version=str(entry.get("version", "")),
            kind="pypi",
            url=scrub(wheel["url"]),
            filename=chosen,
            sha256=wheel["hashes"]["sha256"],
            size=wheel.get("size"),
            key=package_key("pypi", wheel["url"]),
        )

    def _check_buildable(self, name: str, requirements: list[str], target: PyPITarget) -> None:
        """A requirement without a wheel for the target may be built from source here only
        when the index has no wheel of it at all, or when the target is this machine's arch
        and none of its wheels is for this python or platform; otherwise ResolutionFailed
        saying which wheels exist."""
        version, wheels = self._published_wheels(name, requirements, target)
        if not wheels:
            return   # published as source only
        floor_too_new, message = no_wheel_fits(name, version, wheels, target)
        if floor_too_new or target.arch != current_arch():
            raise ResolutionFailed(message)

    def _published_wheels(self, name: str, requirements: list[str], target: PyPITarget) -> tuple[str, list[str]]:
        """The version of a requirement the index offers for the target's python on any
        platform (the newest its specifier admits), and that version's wheels."""
        wanted = next((line for line in requirements if _name(line) == canonicalize_name(name)), name)
        with tempfile.TemporaryDirectory(prefix="mfci-uv-") as scratch:
            Path(scratch, "wanted.in").write_text(wanted + "\n")
            done = _staggered([uv_binary(), "pip", "compile", "wanted.in", "--no-config", "--universal", "--no-deps",
                               "--python-version", target.python, "--only-binary", ":all:", "--no-header",
                               "--quiet", "-o", "pylock.toml"],
                              timeout=self.settings.tool_timeout, what=f"listing the wheels of {name}",
                              env=self._environment(target), cwd=scratch)
            if not done.ok:
                return "", []
            lock = tomllib.loads(Path(scratch, "pylock.toml").read_text())
        entry = next((e for e in lock.get("packages", []) if canonicalize_name(e["name"]) == canonicalize_name(name)), {})
        return str(entry.get("version", "")), [filename(wheel["url"]) for wheel in entry.get("wheels", [])]

    def _built(self, entry: dict, target: PyPITarget) -> PackageFile:
        """A requirement published as source only: the wheel built from it on this machine
        (once per store), used where it fits the target."""
        name, version = entry["name"], str(entry.get("version", ""))
        package = self.builds.wheel(name, version, entry["sdist"], target.python)
        if best_wheel(target, [package.filename], built_here=True) is None:
            where = "this arch" if target.arch == current_arch() else target.arch
            raise ResolutionFailed(f"{name} {version} has only a source distribution; it builds as {package.filename} "
                                   f"here ({', '.join(current_arch_tags())}), which cannot run on {where} "
                                   f"with python {target.python}")
        return package


def _name(requirement: str) -> str:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except ValueError:
        return ""
