"""PyPI resolution with `pip install --dry-run --report` (CONDA_PYPI_DEPENDENCY_RESOLVER=pip).

pip evaluates environment markers for the machine it runs on, not the target; prefer uv."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ..record import PackageFile
from ..spec import EnvSpec
from ..urls import filename, package_key, scrub, scrub_text
from .base import ResolutionFailed, one_line
from .targets import pypi_target


class PipResolver:
    name = "pip"

    def __init__(self, system_packages: dict, index_url: str | None = None):
        self.system_packages = system_packages
        self.index_url = index_url

    def resolve(self, spec: EnvSpec, arch: str) -> list[PackageFile]:
        target = pypi_target(arch, spec.python, self.system_packages)
        major, minor = target.python_tuple
        with tempfile.TemporaryDirectory(prefix="mfci-pip-") as scratch:
            requirements = Path(scratch, "requirements.in")
            requirements.write_text("\n".join(spec.pypi) + "\n")
            report = Path(scratch, "report.json")
            command = [
                sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                "--quiet", "--disable-pip-version-check", "--report", str(report),
                "--only-binary=:all:", "--target", str(Path(scratch, "target")),
                "--python-version", f"{major}.{minor}", "--implementation", "cp",
                "--abi", f"cp{major}{minor}", "--abi", "abi3", "--abi", "none",
                "-r", str(requirements),
            ]
            for tag in target.platform_tags:
                command += ["--platform", tag]
            if self.index_url:
                command += ["--index-url", self.index_url]
            done = subprocess.run(command, capture_output=True, text=True, cwd=scratch)
            if done.returncode != 0:
                raise ResolutionFailed(scrub_text(one_line(done.stderr or done.stdout)))
            installs = json.loads(report.read_text()).get("install", [])
        return [self._package(item) for item in installs]

    @staticmethod
    def _package(item: dict) -> PackageFile:
        info = item["download_info"]
        url = info["url"]
        hashes = info.get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise ResolutionFailed(f"{url}: the index gave no sha256")
        return PackageFile(
            name=item["metadata"]["name"],
            version=item["metadata"]["version"],
            kind="pypi",
            url=scrub(url),
            filename=filename(url),
            sha256=hashes["sha256"],
            size=None,
            key=package_key("pypi", url),
        )
