"""The competitors' real ways of resolving and fetching the same environments, run in the
same process tree as mfci (ratios, not absolute times, are what `make bench` reports).

- `seed_way`: metaflow-netflixext's PyPI path (notes/netflixext.md §3.2; its "uv" resolver is
  this one too): one `pip install --dry-run --report` per (environment, arch) for the target's
  platform tags, then the reported files downloaded in a thread pool — all (environment, arch)
  pairs at once in a ThreadPoolExecutor of the seed's default width, min(32, cores + 4).
- `uv_compile_way`: the obvious home-made alternative: `uv pip compile` per (environment,
  platform) to pylock.toml, in parallel at the same width, then the same downloads.
- `download_floor`: no resolution at all: exactly the given files, downloaded in parallel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib

from mfci.config import Settings
from mfci.resolve.targets import best_wheel, pypi_target

WIDTH = min(32, (os.cpu_count() or 1) + 4)   # ThreadPoolExecutor()'s default, as the seed uses it
DOWNLOAD_THREADS = 8


def platform_arguments(arch: str, python: str) -> list[str]:
    target = pypi_target(arch, python, Settings.load().system_packages[arch])
    major, minor = target.python_tuple
    arguments = ["--only-binary=:all:", "--python-version", f"{major}.{minor}",
                 "--implementation", "cp", "--abi", f"cp{major}{minor}", "--abi", "abi3", "--abi", "none"]
    for tag in target.platform_tags:
        arguments += ["--platform", tag]
    return arguments


def _run(command: list[str], environment: dict, cwd: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-600:]}")
    return done


def _fetch(urls: list[str], destination: Path) -> int:
    """Download every URL into destination, DOWNLOAD_THREADS at a time (the seed's requests pool)."""
    import urllib3

    destination.mkdir(parents=True, exist_ok=True)
    pool = urllib3.PoolManager(maxsize=DOWNLOAD_THREADS)

    def one(url: str) -> None:
        target = destination / url.rsplit("/", 1)[-1].split("#")[0]
        if target.exists():
            return
        response = pool.request("GET", url, preload_content=False, retries=urllib3.Retry(3))
        with open(target, "wb") as out:
            for chunk in response.stream(1 << 20):
                out.write(chunk)
        response.release_conn()

    with ThreadPoolExecutor(DOWNLOAD_THREADS) as threads:
        list(threads.map(one, urls))
    return len(urls)


def _pip_report(requirements: list[str], arch: str, python: str, environment: dict) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-pip-") as scratch:
        report = Path(scratch, "report.json")
        _run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", "install", "--dry-run",
              "--ignore-installed", "--target", str(Path(scratch, "target")), "--report", str(report),
              *platform_arguments(arch, python), *requirements], environment)
        return [item["download_info"]["url"] for item in json.loads(report.read_text())["install"]]


def _uv_compile(requirements: list[str], arch: str, python: str, environment: dict) -> list[str]:
    from mfci.io.process import uv_binary

    target = pypi_target(arch, python, Settings.load().system_packages[arch])
    with tempfile.TemporaryDirectory(prefix="bench-uv-") as scratch:
        (Path(scratch) / "requirements.in").write_text("\n".join(requirements) + "\n")
        output = Path(scratch, "pylock.toml")
        env = dict(environment, **({"MACOSX_DEPLOYMENT_TARGET": target.macos_target} if target.macos_target else {}))
        _run([uv_binary(), "pip", "compile", "requirements.in", "--python-platform", target.uv_platform,
              "--python-version", python, "--only-binary", ":all:", "--quiet", "-o", str(output)], env, cwd=scratch)
        urls = []
        for package in tomllib.loads(output.read_text()).get("packages", []):
            wheels = {w["url"].rsplit("/", 1)[-1]: w["url"] for w in package.get("wheels", [])}
            chosen = best_wheel(target, list(wheels))
            if chosen:
                urls.append(wheels[chosen])
        return urls


def _resolve_then_fetch(resolve, environments: list[list[str]], archs: list[str], python: str,
                        destination: Path, environment: dict) -> int:
    pairs = [(requirements, arch) for requirements in environments for arch in archs]

    def one(pair) -> int:
        requirements, arch = pair
        return _fetch(resolve(requirements, arch, python, environment), destination / arch)

    with ThreadPoolExecutor(WIDTH) as pool:
        return sum(pool.map(one, pairs))


def seed_way(environments: list[list[str]], archs: list[str], python: str, destination: Path,
             environment: dict) -> int:
    return _resolve_then_fetch(_pip_report, environments, archs, python, destination, environment)


def uv_compile_way(environments: list[list[str]], archs: list[str], python: str, destination: Path,
                   environment: dict) -> int:
    return _resolve_then_fetch(_uv_compile, environments, archs, python, destination, environment)


def download_floor(urls: list[str], destination: Path) -> int:
    return _fetch(sorted(set(urls)), destination)
