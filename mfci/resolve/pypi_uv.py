"""PyPI resolution with `uv pip compile` for a foreign platform, read from pylock.toml.

Wheels only, as a foreign platform needs; a requirement that has only a source
distribution is built into a wheel here, and used on an arch only if the built wheel
fits it (a pure-Python one fits all)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import tomllib
from pathlib import Path

from ..record import PackageFile
from ..spec import EnvSpec
from ..urls import filename, package_key, scrub, scrub_text
from .base import ResolutionFailed, one_line
from .targets import PyPITarget, best_wheel, current_arch_tags, pypi_target

NO_WHEELS = re.compile(r"Wheels are required for `([^`]+)`")
BUILD_ATTEMPTS = 5
# Parallel uv processes start at least this far apart: each looks the index host up on
# start, and resolvers in CI sandboxes stall lookups made at the same instant (5 s here).
LAUNCH_GAP_SECONDS = 0.15
_launch_lock = threading.Lock()
_last_launch = [0.0]


def _staggered_run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    with _launch_lock:
        wait = _last_launch[0] + LAUNCH_GAP_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_launch[0] = time.monotonic()
    return subprocess.run(command, **kwargs)


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


class UvResolver:
    name = "uv"

    def __init__(self, system_packages: dict, index_url: str | None = None, local=None):
        self.system_packages = system_packages
        self.index_url = index_url
        self.local = local  # LocalPackages: where wheels built from sdists are kept
        self.builds: dict[str, PackageFile] = {}  # sdist sha256 -> its wheel, built once per warm

    def command(self, target: PyPITarget, requirements: Path, output: Path,
                constraints: Path | None, sdist_only: list[str]) -> list[str]:
        command = [
            uv_binary(), "pip", "compile", str(requirements),
            "--python-platform", target.uv_platform,
            "--python-version", target.python,
            "--only-binary", ":all:",
            "--no-header", "--quiet",
            "-o", str(output),
        ]
        for name in sdist_only:
            command += ["--no-binary", name]
        if self.index_url:
            command += ["--index-url", self.index_url]
        if constraints:
            command += ["--constraint", str(constraints)]
        return command

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]:
        return self.compile(list(spec.pypi), spec.python, arch)

    def compile(self, requirements: list[str], python: str, arch: str,
                constraints: list[str] = ()) -> list[PackageFile]:
        """Exact wheels for the requirements on the arch, optionally under constraints."""
        target = pypi_target(arch, python, self.system_packages)
        with tempfile.TemporaryDirectory(prefix="mfci-uv-") as scratch:
            requirements_file = Path(scratch, "requirements.in")
            requirements_file.write_text("\n".join(requirements) + "\n")
            constraints_file = Path(scratch, "constraints.txt") if constraints else None
            if constraints_file:
                constraints_file.write_text("\n".join(constraints) + "\n")
            output = Path(scratch, "pylock.toml")
            environment = dict(os.environ, UV_NO_PROGRESS="1")
            if target.macos_target:
                environment["MACOSX_DEPLOYMENT_TARGET"] = target.macos_target
            sdist_only: list[str] = []
            for _ in range(BUILD_ATTEMPTS):
                done = _staggered_run(
                    self.command(target, requirements_file, output, constraints_file, sdist_only),
                    capture_output=True, text=True, env=environment, cwd=scratch,
                )
                missing = NO_WHEELS.findall(done.stderr)
                if done.returncode == 0 or not missing or set(missing) <= set(sdist_only):
                    break
                sdist_only += [name for name in missing if name not in sdist_only]
            if done.returncode != 0:
                raise ResolutionFailed(scrub_text(one_line(done.stderr or done.stdout)))
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

    def _built(self, entry: dict, target: PyPITarget) -> PackageFile:
        """Build a source-only requirement into a wheel on this machine, if it fits the target."""
        from ..cache import download, sha256_of
        from ..create import current_arch

        sdist = entry["sdist"]
        name = f"{entry['name']} {entry.get('version', '')}"
        if self.local is None:
            raise ResolutionFailed(f"{name} has only a source distribution")
        done = self.builds.get(sdist["hashes"]["sha256"])
        if done is not None and (target.arch == current_arch() or best_wheel(target, [done.filename])):
            return done
        with tempfile.TemporaryDirectory(prefix="mfci-build-") as scratch:
            archive = Path(scratch, filename(sdist["url"]))
            download(sdist["url"], archive, self.index_url)
            if sha256_of(archive) != sdist["hashes"]["sha256"]:
                raise ResolutionFailed(f"{archive.name}: sha256 does not match the index")
            built = subprocess.run([uv_binary(), "build", "--wheel", "--quiet", "--out-dir", scratch, str(archive)],
                                   capture_output=True, text=True, cwd=scratch)
            wheel = next(Path(scratch).glob("*.whl"), None)
            if built.returncode != 0 or wheel is None:
                raise ResolutionFailed(f"{name} has only a source distribution and building it failed: "
                                       + scrub_text(one_line(built.stderr or built.stdout)))
            if target.arch != current_arch() and best_wheel(target, [wheel.name]) is None:
                raise ResolutionFailed(f"{name} has only a source distribution; it builds as {wheel.name} "
                                       f"here ({', '.join(current_arch_tags())}), which cannot run on {target.arch}")
            sha256 = sha256_of(wheel)
            package = PackageFile(
                name=entry["name"], version=str(entry.get("version", "")), kind="pypi",
                url=scrub(sdist["url"]), filename=wheel.name, sha256=sha256, size=wheel.stat().st_size,
                key=f"{package_key('pypi', sdist['url'])}.built/{sha256}/{wheel.name}",
            )
            staged = self.local.staging()
            shutil.copyfile(wheel, staged)
        self.local.adopt(staged, package)
        self.builds[sdist["hashes"]["sha256"]] = package
        return package
