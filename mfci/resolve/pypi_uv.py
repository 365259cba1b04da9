"""PyPI resolution with `uv pip compile` for a foreign platform, read from pylock.toml.

Wheels only, as a foreign platform needs; a requirement that has only a source
distribution is built into a wheel here, and used on an arch only if the built wheel
fits it (a pure-Python one fits all). uv gets the run's indexes through its environment
(never on its command line, where `ps` shows credentials) and no configuration of its
own, so that resolution and downloads use the same indexes."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import tomllib

from ..io.files import sha256_of
from ..io.http import Downloader
from ..io.process import Completed, run, uv_binary
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec
from ..urls import filename, package_key
from .base import ResolutionFailed
from .targets import PyPITarget, best_wheel, current_arch_tags, pypi_target

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

    def __init__(self, settings, local, downloader: Downloader):
        self.settings = settings            # ResolverSettings
        self.local = local                  # LocalPackages: where wheels built from sdists are kept
        self.downloader = downloader
        self.builds: dict[str, list[PackageFile]] = {}   # sdist sha256 -> wheels built from it
        self._builds_lock = threading.Lock()

    def _environment(self, target: PyPITarget, extra_indexes=()) -> dict:
        indexes = self.settings.indexes.with_extra(extra_indexes)
        environment = {**self.settings.environment, **indexes.uv_environment(),
                       "UV_NO_PROGRESS": "1", "UV_PYTHON_DOWNLOADS": "never"}
        if target.macos_target:
            environment["MACOSX_DEPLOYMENT_TARGET"] = target.macos_target
        return environment

    def command(self, target: PyPITarget, requirements: Path, output: Path,
                constraints: Path | None, sdist_only: list[str], options=()) -> list[str]:
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
        if "pre" in options:
            command += ["--prerelease", "allow"]
        return command

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]:
        return self.compile(list(spec.pypi), spec.python, arch, spec.system,
                            extra_indexes=spec.extra_indexes, options=spec.options)

    def compile(self, requirements: list[str], python: str, arch: str, system: dict,
                constraints: list[str] = (), extra_indexes=(), options=()) -> list[PackageFile]:
        """Exact wheels for the requirements on the arch (given its virtual packages),
        optionally under constraints, with a step's extra indexes and resolver options."""
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
                done = _staggered(self.command(target, requirements_file, output, constraints_file, sdist_only,
                                               options),
                                  timeout=self.settings.tool_timeout, what=f"resolving for {arch}",
                                  env=self._environment(target, extra_indexes), cwd=scratch)
                missing = NO_WHEELS.findall(done.stderr)
                if done.ok or not missing or set(missing) <= set(sdist_only):
                    break
                sdist_only += [name for name in missing if name not in sdist_only]
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

    def _built(self, entry: dict, target: PyPITarget) -> PackageFile:
        """A source-only requirement built into a wheel on this machine, for the target's
        python, used only where the built wheel fits the target."""
        from ..arch import current_arch

        sdist = entry["sdist"]
        digest = sdist["hashes"]["sha256"]
        name = f"{entry['name']} {entry.get('version', '')}"
        with self._builds_lock:
            fitting = [w for w in self.builds.get(digest, []) if best_wheel(target, [w.filename], built_here=True)]
        if fitting:
            return fitting[0]
        with tempfile.TemporaryDirectory(prefix="mfci-build-") as scratch:
            archive = Path(scratch, filename(sdist["url"]))
            self.downloader.fetch(sdist["url"], archive, sdist.get("size"), archive.name)
            if sha256_of(archive) != digest:
                raise ResolutionFailed(f"{archive.name}: sha256 does not match the index")
            out = Path(scratch, "out")
            built = run([uv_binary(), "build", "--wheel", "--no-config", "--quiet", "--python", target.python,
                         "--out-dir", str(out), str(archive)],
                        timeout=self.settings.tool_timeout, what=f"building {name} from source",
                        env={**self.settings.environment, **self.settings.indexes.uv_environment(),
                             "UV_NO_PROGRESS": "1"}, cwd=scratch)
            wheel = next(out.glob("*.whl"), None) if out.is_dir() else None
            if not built.ok or wheel is None:
                raise ResolutionFailed(f"{name} has only a source distribution and building it for python "
                                       f"{target.python} failed: {built.error_text()}")
            if best_wheel(target, [wheel.name], built_here=True) is None:
                where = "this arch" if target.arch == current_arch() else target.arch
                raise ResolutionFailed(f"{name} has only a source distribution; it builds as {wheel.name} "
                                       f"here ({', '.join(current_arch_tags())}), which cannot run on {where} "
                                       f"with python {target.python}")
            package = PackageFile(
                name=entry["name"], version=str(entry.get("version", "")), kind="pypi",
                url=scrub(sdist["url"]), filename=wheel.name, sha256=sha256_of(wheel), size=wheel.stat().st_size,
                key=f"{package_key('pypi', sdist['url'])}.built/{sha256_of(wheel)}/{wheel.name}",
            )
            with self.local.staging() as staged:
                shutil.copyfile(wheel, staged)
                self.local.adopt(staged, package)
        with self._builds_lock:
            self.builds.setdefault(digest, []).append(package)
        return package
