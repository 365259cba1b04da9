"""PyPI resolution with `pip install --dry-run --report` (CONDA_PYPI_DEPENDENCY_RESOLVER=pip).

pip evaluates environment markers for the machine it runs on, not the target; prefer uv.
pip gets the run's indexes through its environment and no configuration file of its own."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ..io.process import run
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec, PypiOptions
from ..urls import filename, package_key
from .base import Preferences, ResolutionFailed, check_hashes
from .targets import pypi_target


class PipResolver:
    name = "pip"

    def __init__(self, settings, credentials):
        self.settings = settings  # ResolverSettings
        self.credentials = credentials

    def _environment(self, options: PypiOptions) -> dict:
        indexes = self.settings.indexes.with_file(options.with_urls(self.credentials.configured))
        return {**self.settings.environment, **indexes.pip_environment(self.credentials.for_tool)}

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        if spec.pypi_options.sources:
            raise ResolutionFailed("[tool.uv.sources] index pins need the uv resolver "
                                   "(METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER=uv)")
        target = pypi_target(arch, spec.python, spec.system)
        major, minor = target.python_tuple
        # pip has no preferences: the previous versions are kept as constraints.
        kept = prefer.kept("pypi") if prefer else []
        constraints = [*spec.pypi_options.constraints, *(f"{p.name}=={p.version}" for p in kept)]
        with tempfile.TemporaryDirectory(prefix="mfci-pip-") as scratch:
            lines = list(spec.pypi)
            if constraints:
                Path(scratch, "constraints.txt").write_text("\n".join(constraints) + "\n")
                lines.append(f"-c {Path(scratch, 'constraints.txt')}")
            requirements = Path(scratch, "requirements.in")
            requirements.write_text("\n".join(lines) + "\n")
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
            done = run(command, timeout=self.settings.tool_timeout, what=f"resolving with pip for {arch}",
                       cwd=scratch, env=self._environment(spec.pypi_options))
            if not done.ok:
                raise ResolutionFailed(done.error_text())
            installs = json.loads(report.read_text()).get("install", [])
        files = [self._package(item) for item in installs]
        check_hashes(files, spec.pypi_options)
        return files

    @staticmethod
    def _package(item: dict) -> PackageFile:
        info = item["download_info"]
        url = info["url"]
        hashes = info.get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise ResolutionFailed(f"{scrub(url)}: the index gave no sha256")
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
