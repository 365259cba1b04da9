"""PyPI resolution with `uv pip compile` for a foreign platform, read from pylock.toml.

Wheels only, as a foreign platform needs. When no wheel of a requirement fits a target,
the index is asked what wheels do exist: wheels for the target's platform that need a
newer OS than the target's floor are one line saying so (nothing is built: a build here
would not run there either); a requirement published as source only is built into a
wheel here (`builds`, once per store), and used on an arch only if the built wheel fits
it (a pure-Python one fits all); for this machine's own arch, a version without a wheel
for its python or platform is built too. uv gets the run's indexes through its
environment (never on its command line, where `ps` shows credentials) and no
configuration of its own, so that resolution and downloads use the same indexes. An
environment file's own options (indexes, constraints, hashes, [tool.uv.sources]) and a
previous resolution to stay close to (--upgrade-package) shape the same call."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..arch import current_arch
from ..io.files import sha256_of
from ..io.http import Downloader
from ..io.process import Completed, one_line, run, uv_binary
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec, PypiOptions
from ..urls import filename, package_key
from .base import (
    ArchResolution,
    Preferences,
    ResolutionFailed,
    check_hashes,
    resolve_alone,
)
from .builds import SourceBuilds
from .targets import (
    PyPITarget,
    best_wheel,
    current_arch_tags,
    no_wheel_fits,
    pypi_target,
)
from .universal import apart, for_arch, project, shared_pins, split_versions

NO_WHEELS = re.compile(r"Wheels are required for `([^`]+)`")
BUILD_ATTEMPTS = 5
# Parallel uv processes start at least this far apart: each looks the index host up on
# start, and resolvers in CI sandboxes stall lookups made at the same instant (5 s here;
# launches 0.05 s apart still stalled two cold warms in three, 0.1 s apart none in ten).
LAUNCH_GAP_SECONDS = 0.1
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

    def __init__(self, settings, builds: SourceBuilds, local, downloader: Downloader):
        self.settings = settings            # ResolverSettings
        self.builds = builds                # wheels built from source distributions
        self.local = local                  # LocalPackages: direct-URL files learnt here are kept
        self.downloader = downloader

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
                missing = [name for name in NO_WHEELS.findall(done.stderr) if name not in sdist_only]
                if done.ok or not missing:
                    break
                for name in missing:
                    self._check_buildable(name, requirements, target, options)
                sdist_only += missing
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
        path = scratch / "pyproject.toml"
        path.write_text(project(requirements, sources=options.sources, named_indexes=self._named_indexes(options)))
        return path

    def _named_indexes(self, options: PypiOptions) -> list[tuple[str, str]]:
        credentials = self.downloader.credentials
        return [(name, credentials.for_tool(url)) for name, url in options.named_indexes]

    def resolve_archs(self, specs: dict[str, EnvSpec]) -> dict[str, ArchResolution]:
        """Every arch of one environment from one universal resolution, so that all get the
        same versions; an arch that cannot use them (no wheel of that version for its
        platform, OS floor or python) is resolved alone, and its answer says why."""
        spec = next(iter(specs.values()))
        try:
            lock = self._universal(spec, list(specs))
        except ResolutionFailed as error:
            why = f"resolved per arch: no universal resolution ({one_line(str(error))})"
            return {arch: resolve_alone(self, each, arch, why) for arch, each in specs.items()}
        split = split_versions(lock, specs)
        if split:  # uv forked (a version lacks some arch's wheels): the version every arch has, if one does
            try:
                lock = self._universal(spec, list(specs), shared_pins(split))
                split = split_versions(lock, specs)
            except ResolutionFailed:
                pass
        notes = apart(split)
        answers = {}
        for arch, each in specs.items():
            target = pypi_target(arch, each.python, each.system)
            try:
                files = [self._package(entry, target, each.pypi_options) for entry in for_arch(lock, arch, each.python)]
                check_hashes(files, each.pypi_options)
                answers[arch] = ArchResolution(tuple(files), note=notes.get(arch, ""))
            except ResolutionFailed as error:
                answers[arch] = resolve_alone(self, each, arch, f"resolved for {arch} alone: {one_line(str(error))}")
        return answers

    def _universal(self, spec: EnvSpec, archs: list[str], pins: list[str] = ()) -> dict:
        """uv's universal lock of the spec for the archs (under extra constraints `pins`),
        exported as a pylock.toml (with each package's marker)."""
        options = spec.pypi_options
        floor = min(spec.python, f"{sys.version_info[0]}.{sys.version_info[1]}", key=Version)
        text = project(list(spec.pypi), spec.python, archs, ".".join(floor.split(".")[:2]),
                       [*options.constraints, *pins], options.sources, self._named_indexes(options))
        environment = {**self._tool_environment(options), "UV_PYTHON_DOWNLOADS": "never"}
        with tempfile.TemporaryDirectory(prefix="mfci-uv-") as scratch:
            Path(scratch, "pyproject.toml").write_text(text)
            # Only the lock goes to the network (and so waits its turn to start).
            for start, command, what in (
                (_staggered, ["lock", "--python", sys.executable], f"resolving for {', '.join(archs)}"),
                (run, ["export", "--frozen", "--format", "pylock.toml", "-o", "pylock.toml"], "exporting the resolution"),
            ):
                done = start([uv_binary(), *command, "--no-config", "--quiet"], timeout=self.settings.tool_timeout,
                             what=what, env=environment, cwd=scratch)
                if not done.ok:
                    raise ResolutionFailed(done.error_text())
            return tomllib.loads(Path(scratch, "pylock.toml").read_text())

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
            raise ResolutionFailed(no_wheel_fits(entry["name"], str(entry.get("version", "")), list(wheels), target)[1])
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

    def _check_buildable(self, name: str, requirements: list[str], target: PyPITarget, options: PypiOptions) -> None:
        """A requirement without a wheel for the target may be built from source here only
        when the index has no wheel of it at all, or when the target is this machine's arch
        and none of its wheels is for this python or platform; otherwise ResolutionFailed
        saying which wheels exist."""
        version, wheels = self._published_wheels(name, requirements, target, options)
        if not wheels:
            return   # published as source only
        floor_too_new, message = no_wheel_fits(name, version, wheels, target)
        if floor_too_new or target.arch != current_arch():
            raise ResolutionFailed(message)

    def _published_wheels(self, name: str, requirements: list[str], target: PyPITarget,
                          options: PypiOptions) -> tuple[str, list[str]]:
        """The version of a requirement the index offers for the target's python on any
        platform (the newest its specifier admits), and that version's wheels."""
        wanted = next((line for line in requirements if _name(line) == canonicalize_name(name)), name)
        with tempfile.TemporaryDirectory(prefix="mfci-uv-") as scratch:
            Path(scratch, "wanted.in").write_text(wanted + "\n")
            done = _staggered([uv_binary(), "pip", "compile", "wanted.in", "--no-config", "--universal", "--no-deps",
                               "--python-version", target.python, "--only-binary", ":all:", "--no-header",
                               "--quiet", "-o", "pylock.toml"],
                              timeout=self.settings.tool_timeout, what=f"listing the wheels of {name}",
                              env=self._environment(target, options), cwd=scratch)
            if not done.ok:
                return "", []
            lock = tomllib.loads(Path(scratch, "pylock.toml").read_text())
        entry = next((e for e in lock.get("packages", []) if canonicalize_name(e["name"]) == canonicalize_name(name)), {})
        return str(entry.get("version", "")), [filename(wheel["url"]) for wheel in entry.get("wheels", [])]

    def _built(self, entry: dict, target: PyPITarget, options: PypiOptions) -> PackageFile:
        """A requirement published as source only: the wheel built from it on this machine
        (once per store), used where it fits the target."""
        name, version, sdist = entry["name"], str(entry.get("version", "")), entry["sdist"]
        if not sdist.get("hashes", {}).get("sha256"):   # a direct URL given without a hash: learn it
            with self.local.staging() as staged:
                self.downloader.fetch(sdist["url"], staged, None, filename(sdist["url"]))
                sdist = {**sdist, "hashes": {"sha256": sha256_of(staged)}}
        package = self.builds.wheel(name, version, sdist, target.python, self._tool_environment(options))
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


def _preferences(packages: list[PackageFile]) -> str:
    """A pylock.toml naming the versions to prefer (uv reads an existing output file so)."""
    lines = ['lock-version = "1.0"', 'created-by = "mfci"']
    for package in packages:
        lines += ["", "[[packages]]", f"name = {json.dumps(package.name)}", f"version = {json.dumps(package.version)}"]
    return "\n".join(lines) + "\n"
