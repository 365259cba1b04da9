"""PyPI resolution with `uv pip compile` for a foreign platform, read from pylock.toml.

Wheels only, as a foreign platform needs; a requirement that has only a source
distribution is built into a wheel here, and used on an arch only if the built wheel
fits it (a pure-Python one fits all). uv gets the run's indexes through its environment
(never on its command line, where `ps` shows credentials) and no configuration of its
own, so that resolution and downloads use the same indexes."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import tomllib

from ..io.files import sha256_of
from ..io.http import Downloader
from ..io.process import Completed, run, uv_binary
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec, PypiOptions
from ..urls import filename, package_key
from .base import Preferences, ResolutionFailed, check_hashes
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

    def _tool_environment(self, options: PypiOptions) -> dict:
        """uv's environment: the run's indexes under the file's own options, credentials in."""
        credentials = self.downloader.credentials
        indexes = self.settings.indexes.with_file(options.with_urls(credentials.configured))
        return {**self.settings.environment, **indexes.uv_environment(credentials.for_tool), "UV_NO_PROGRESS": "1"}

    def _environment(self, target: PyPITarget, options: PypiOptions) -> dict:
        environment = {**self._tool_environment(options), "UV_PYTHON_DOWNLOADS": "never"}
        if target.macos_target:
            environment["MACOSX_DEPLOYMENT_TARGET"] = target.macos_target
        return environment

    def command(self, target: PyPITarget, requirements: Path, output: Path,
                constraints: Path | None, sdist_only: list[str], upgrade: tuple[str, ...] = ()) -> list[str]:
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
        for name in upgrade:
            command += ["--upgrade-package", name]
        return command

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        return self.compile(list(spec.pypi), spec.python, arch, spec.system, options=spec.pypi_options,
                            prefer=prefer)

    def compile(self, requirements: list[str], python: str, arch: str, system: dict,
                constraints: list[str] = (), options: PypiOptions = PypiOptions(),
                prefer: Preferences | None = None) -> list[PackageFile]:
        """Exact wheels for the requirements on the arch (given its virtual packages),
        optionally under constraints, an environment file's own options, and close to a
        previous resolution."""
        target = pypi_target(arch, python, system)
        with tempfile.TemporaryDirectory(prefix="mfci-uv-") as scratch:
            requirements_file = self._input(Path(scratch), requirements, options)
            constraints = [*constraints, *options.constraints]
            constraints_file = Path(scratch, "constraints.txt") if constraints else None
            if constraints_file:
                constraints_file.write_text("\n".join(constraints) + "\n")
            output = Path(scratch, "pylock.toml")
            upgrade: tuple[str, ...] = ()
            if prefer:  # uv prefers the versions an existing output file pins, as pip-tools does
                output.write_text(_preferences(prefer.kept("pypi")))
                upgrade = prefer.upgrade
            sdist_only: list[str] = []
            for _ in range(BUILD_ATTEMPTS):
                done = _staggered(self.command(target, requirements_file, output, constraints_file, sdist_only, upgrade),
                                  timeout=self.settings.tool_timeout, what=f"resolving for {arch}",
                                  env=self._environment(target, options), cwd=scratch)
                missing = NO_WHEELS.findall(done.stderr)
                if done.ok or not missing or set(missing) <= set(sdist_only):
                    break
                sdist_only += [name for name in missing if name not in sdist_only]
            if not done.ok:
                raise ResolutionFailed(done.error_text())
            lock = tomllib.loads(output.read_text())
        files = [self._package(entry, target, options) for entry in lock.get("packages", [])]
        check_hashes(files, options)
        return files

    def _input(self, scratch: Path, requirements: list[str], options: PypiOptions) -> Path:
        """What uv compiles: the requirements, or — when a pyproject pinned packages to
        named indexes ([tool.uv.sources]) — a pyproject that says so, which uv honours. The
        file is private to this resolution (it may hold an index's credentials)."""
        if not options.sources:
            path = scratch / "requirements.in"
            path.write_text("\n".join(requirements) + "\n")
            return path
        credentials = self.downloader.credentials
        lines = ["[project]", 'name = "mfci-environment"', 'version = "0"',
                 f"dependencies = {json.dumps(requirements)}", "", "[tool.uv.sources]"]
        lines += [f"{json.dumps(name)} = {{ index = {json.dumps(index)} }}" for name, index in options.sources]
        for name, url in options.named_indexes:
            lines += ["", "[[tool.uv.index]]", f"name = {json.dumps(name)}",
                      f"url = {json.dumps(credentials.for_tool(url))}", "explicit = true"]
        path = scratch / "pyproject.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _package(self, entry: dict, target: PyPITarget, options: PypiOptions) -> PackageFile:
        wheels = {filename(wheel["url"]): wheel for wheel in entry.get("wheels", [])}
        archive = entry.get("archive")   # a direct URL (`name @ https://…`): a wheel, or a source archive
        if archive and archive.get("url", "").endswith(".whl"):
            wheels = {filename(archive["url"]): archive}
        elif archive and archive.get("url", "").startswith(("http://", "https://")):
            entry = {**entry, "sdist": archive}
        if not wheels and entry.get("sdist"):
            return self._built(entry, target, options)
        if not wheels and (entry.get("vcs") or entry.get("directory") or archive):
            kind = "a git" if entry.get("vcs") else "a local folder" if entry.get("directory") else "a local file"
            raise ResolutionFailed(f"{entry['name']} comes from {kind} requirement: an environment is made of "
                                   "index files; build it into a wheel and serve it from an index or --find-links")
        chosen = best_wheel(target, list(wheels))
        if chosen is None:
            raise ResolutionFailed(
                f"{entry['name']} {entry.get('version', '')}: no wheel for {target.arch} python {target.python}"
            )
        wheel = wheels[chosen]
        package = partial(PackageFile, name=entry["name"], version=str(entry.get("version", "")), kind="pypi",
                          url=scrub(wheel["url"]), filename=chosen, key=package_key("pypi", wheel["url"]))
        if not wheel.get("hashes", {}).get("sha256"):
            # A direct URL given without a hash: fetched once here to learn it, and kept in
            # the local cache, so that storing it downloads nothing again.
            with self.local.staging() as staged:
                self.downloader.fetch(wheel["url"], staged, None, chosen)
                hashed = package(sha256=sha256_of(staged), size=staged.stat().st_size)
                self.local.adopt(staged, hashed)
            return hashed
        return package(sha256=wheel["hashes"]["sha256"], size=wheel.get("size"))

    def _built(self, entry: dict, target: PyPITarget, options: PypiOptions) -> PackageFile:
        """A source-only requirement built into a wheel on this machine, for the target's
        python, used only where the built wheel fits the target."""
        from ..arch import current_arch

        sdist = entry["sdist"]
        digest = sdist.get("hashes", {}).get("sha256")
        name = f"{entry['name']} {entry.get('version', '')}"
        with self._builds_lock:
            fitting = [w for w in self.builds.get(digest, []) if best_wheel(target, [w.filename], built_here=True)]
        if fitting:
            return fitting[0]
        with tempfile.TemporaryDirectory(prefix="mfci-build-") as scratch:
            archive = Path(scratch, filename(sdist["url"]))
            self.downloader.fetch(sdist["url"], archive, sdist.get("size"), archive.name)
            if digest is None:   # a direct URL given without a hash
                digest = sha256_of(archive)
            elif sha256_of(archive) != digest:
                raise ResolutionFailed(f"{archive.name}: sha256 does not match the index")
            out = Path(scratch, "out")
            built = run([uv_binary(), "build", "--wheel", "--no-config", "--quiet", "--python", target.python,
                         "--out-dir", str(out), str(archive)],
                        timeout=self.settings.tool_timeout, what=f"building {name} from source",
                        env=self._tool_environment(options), cwd=scratch)
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


def _preferences(packages: list[PackageFile]) -> str:
    """A pylock.toml naming the versions to prefer (uv reads an existing output file so)."""
    lines = ['lock-version = "1.0"', 'created-by = "mfci"']
    for package in packages:
        lines += ["", "[[packages]]", f"name = {json.dumps(package.name)}", f"version = {json.dumps(package.version)}"]
    return "\n".join(lines) + "\n"
