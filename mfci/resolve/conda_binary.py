"""Conda resolution with a conda, mamba or micromamba binary, when one is configured
(CONDA_DEPENDENCY_RESOLVER, the seed's meaning) and present: `create --dry-run --json`
for the target arch, with its virtual packages set through CONDA_OVERRIDE_*."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ..io.process import run
from ..record import PackageFile
from ..secrets import scrub
from ..spec import EnvSpec, python_match_spec
from ..urls import filename, package_key
from .base import Preferences, ResolutionFailed

OVERRIDES = {"__glibc": "CONDA_OVERRIDE_GLIBC", "__cuda": "CONDA_OVERRIDE_CUDA", "__osx": "CONDA_OVERRIDE_OSX"}


class BinaryCondaResolver:
    def __init__(self, binary: str, credentials, settings):
        self.binary = binary
        self.name = Path(binary).name
        self.credentials = credentials  # auth.Credentials: channels as configured
        self.settings = settings  # ResolverSettings

    def resolve(self, spec: EnvSpec, arch: str, prefer: Preferences | None = None) -> list[PackageFile]:
        if prefer:
            raise ResolutionFailed(f"--upgrade-package needs the built-in solver (CONDA_DEPENDENCY_RESOLVER=rattler); "
                                   f"{self.name} cannot prefer a previous resolution")
        wanted = spec.system
        with tempfile.TemporaryDirectory(prefix="mfci-conda-") as scratch:
            environment = dict(self.settings.environment, CONDA_SUBDIR=arch, CONDA_PKGS_DIRS=f"{scratch}/pkgs",
                               MAMBA_ROOT_PREFIX=f"{scratch}/root", CONDA_JSON="true", MAMBA_NO_BANNER="1")
            for name, variable in OVERRIDES.items():
                if name in wanted:
                    environment[variable] = str(wanted[name]).split("=")[0]
            command = [self.binary, "create", "--yes", "--dry-run", "--json", "--prefix", f"{scratch}/prefix",
                       "--override-channels"]
            for channel in spec.channels:
                command += ["-c", self.credentials.configured(channel)]
            done = run(command + [python_match_spec(spec.python), *spec.conda], timeout=self.settings.tool_timeout,
                       what=f"solving with {self.name} for {arch}", env=environment)
        try:
            actions = json.loads(done.stdout).get("actions", {})
        except ValueError:
            actions = None
        if not done.ok or actions is None:
            raise ResolutionFailed(f"{self.name} could not solve: {done.error_text()}")
        fetched = {item.get("fn") or filename(item["url"]): item for item in actions.get("FETCH", [])}
        return [self._package(item, fetched) for item in actions.get("LINK", [])]

    def _package(self, item: dict, fetched: dict) -> PackageFile:
        name = item.get("fn") or filename(item["url"])
        merged = {**fetched.get(name, {}), **{k: v for k, v in item.items() if v}}
        if not merged.get("sha256"):
            raise ResolutionFailed(f"{self.name} gave no sha256 for {name}")
        url = scrub(merged["url"])
        return PackageFile(name=merged["name"], version=str(merged["version"]), kind="conda", url=url,
                           filename=name, sha256=merged["sha256"], size=merged.get("size"),
                           key=package_key("conda", url), md5=merged.get("md5"))
