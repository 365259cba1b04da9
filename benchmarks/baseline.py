"""The seed's way (notes/netflixext.md §3.2), one (distinct environment, arch) after another:
`pip install --dry-run --report` for the target platform, then `pip download` of the reported files.

pip is given every platform tag the arch accepts (pip does not fall back to older manylinux
tags on its own: notes/tooling.md §7), the same tags mfci uses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mfci.config import Settings
from mfci.resolve.targets import pypi_target


def platform_arguments(arch: str, python: str) -> list[str]:
    target = pypi_target(arch, python, Settings.load().system_packages[arch])
    major, minor = target.python_tuple
    arguments = ["--only-binary=:all:", "--python-version", f"{major}.{minor}",
                 "--implementation", "cp", "--abi", f"cp{major}{minor}", "--abi", "abi3", "--abi", "none"]
    for tag in target.platform_tags:
        arguments += ["--platform", tag]
    return arguments


def pip(*arguments: str, environment: dict) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *arguments],
                          capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise RuntimeError(f"pip {arguments[0]} failed: {done.stderr[-600:]}")


def resolve_and_download(requirements: list[str], arch: str, python: str, destination: Path,
                         environment: dict) -> int:
    """One (environment, arch) the seed's way. Returns how many files it downloaded."""
    platform = platform_arguments(arch, python)
    with tempfile.TemporaryDirectory(prefix="bench-pip-") as scratch:
        report = Path(scratch, "report.json")
        pip("install", "--dry-run", "--ignore-installed", "--target", str(Path(scratch, "target")),
            "--report", str(report), *platform, *requirements, environment=environment)
        pins = [f"{item['metadata']['name']}=={item['metadata']['version']}"
                for item in json.loads(report.read_text())["install"]]
    pip("download", "--no-deps", "--dest", str(destination), *platform, *pins, environment=environment)
    return len(pins)


def warm(environments: list[list[str]], archs: list[str], python: str, destination: Path,
         environment: dict) -> int:
    return sum(resolve_and_download(requirements, arch, python, destination / arch, environment)
               for requirements in environments for arch in archs)
