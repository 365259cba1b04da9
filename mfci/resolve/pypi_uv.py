"""PyPI resolution with `uv pip compile` for a foreign platform, read from pylock.toml."""

from __future__ import annotations

import os
import subprocess
import tempfile
import tomllib
from pathlib import Path

from ..record import PackageFile
from ..spec import EnvSpec
from ..urls import filename, package_key, scrub, scrub_text
from .base import ResolutionFailed, one_line
from .targets import PyPITarget, best_wheel, pypi_target


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


class UvResolver:
    name = "uv"

    def __init__(self, system_packages: dict, index_url: str | None = None):
        self.system_packages = system_packages
        self.index_url = index_url

    def command(self, target: PyPITarget, requirements: Path, output: Path,
                constraints: Path | None = None) -> list[str]:
        command = [
            uv_binary(), "pip", "compile", str(requirements),
            "--python-platform", target.uv_platform,
            "--python-version", target.python,
            "--only-binary", ":all:",
            "--no-header", "--quiet",
            "-o", str(output),
        ]
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
            done = subprocess.run(
                self.command(target, requirements_file, output, constraints_file),
                capture_output=True, text=True, env=environment, cwd=scratch,
            )
            if done.returncode != 0:
                raise ResolutionFailed(scrub_text(one_line(done.stderr or done.stdout)))
            lock = tomllib.loads(output.read_text())
        return [self._package(entry, target) for entry in lock.get("packages", [])]

    @staticmethod
    def _package(entry: dict, target: PyPITarget) -> PackageFile:
        wheels = {filename(wheel["url"]): wheel for wheel in entry.get("wheels", [])}
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
