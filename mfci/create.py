"""Building an environment on disk from a record and the store alone: no resolver, no index.

Every file is sha256-verified before install. An environment folder carries a marker
that says whose it is and whether it is complete; a half-built one of ours is rebuilt,
a folder that is not ours is never touched. One OS file lock per environment (released
by the OS if its holder dies) keeps concurrent creators from building it twice.
This module is imported by the remote bootstrap: stdlib and filelock only.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from .cache import PackageCache
from .errors import UsageError, WorkError
from .record import EnvRecord

MARKER = ".mfci-env.json"


def python_path(prefix: Path) -> Path:
    return prefix / "bin" / "python"


def _marker(prefix: Path) -> dict | None:
    try:
        return json.loads((prefix / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _write_marker(prefix: Path, record: EnvRecord, state: str) -> None:
    staged = prefix / (MARKER + ".tmp")
    staged.write_text(json.dumps({"env_id": record.env_id, "spec_id": record.spec_id,
                                  "arch": record.arch, "state": state}))
    staged.replace(prefix / MARKER)


def is_complete(prefix: Path, env_id: str) -> bool:
    marker = _marker(prefix)
    return bool(marker) and marker.get("env_id") == env_id and marker.get("state") == "complete"


def _prepare(prefix: Path, record: EnvRecord) -> bool:
    """True when the prefix already holds this environment, complete."""
    if is_complete(prefix, record.env_id):
        return True
    if prefix.exists() and any(prefix.iterdir()):
        marker = _marker(prefix)
        if marker is None:
            raise UsageError(f"{prefix} is not empty and was not made by mfci; choose an empty or new folder")
        if marker.get("env_id") != record.env_id:
            raise UsageError(f"{prefix} holds another mfci environment ({marker.get('env_id')}); "
                             "remove it or choose another folder")
        # Ours, for this env, left half-built by a process that died: start over.
        shutil.rmtree(prefix)
    return False


def _interpreter(record: EnvRecord) -> str:
    """This python when it is the record's version, else let uv find one of that version."""
    running = "%d.%d.%d" % sys.version_info[:3]
    wanted = record.python.split(".")
    if running.split(".")[: len(wanted)] == wanted:
        return sys.executable
    return record.python


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())[:400]
        raise WorkError(f"{what} failed: {detail}")


def lock_for(locks: Path, prefix: Path, timeout: float) -> FileLock:
    locks.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(prefix.absolute()).encode()).hexdigest()[:24]
    return FileLock(locks / f"{name}.lock", timeout=timeout)


@dataclass(frozen=True)
class Environment:
    python: Path
    built: bool   # False: it was already there, complete


def create(record: EnvRecord, prefix: Path, cache: PackageCache, uv: str, locks: Path,
           timeout: float, jobs: int = 8) -> Environment:
    """The environment at `prefix`, built if needed (once, whoever else asks at the same time)."""
    lock = lock_for(locks, prefix, timeout)
    try:
        with lock:
            if _prepare(prefix, record):
                return Environment(python_path(prefix), built=False)
            if record.arch != current_arch():
                raise UsageError(f"environment {record.env_id} is for {record.arch}; this machine is {current_arch()}")
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                files = dict(zip(record.packages, pool.map(cache.fetch, record.packages)))
            conda = [path for package, path in files.items() if package.kind == "conda"]
            wheels = [path for package, path in files.items() if package.kind == "pypi"]
            prefix.mkdir(parents=True, exist_ok=True)
            _write_marker(prefix, record, "building")
            if conda:  # conda provides python itself
                install_conda(conda, prefix, record.arch, locks.parent / "conda-pkgs")
            else:
                _run([uv, "venv", "--quiet", "--allow-existing", "--python", _interpreter(record), str(prefix)],
                     f"creating the python {record.python} environment at {prefix}")
            if wheels:
                _run([uv, "pip", "install", "--quiet", "--offline", "--no-deps", "--no-index",
                      "--python", str(python_path(prefix)), *map(str, wheels)],
                     f"installing {len(wheels)} wheels into {prefix}")
            _write_marker(prefix, record, "complete")
            return Environment(python_path(prefix), built=True)
    except Timeout:
        raise WorkError(f"waited {timeout:.0f}s for the lock {lock.lock_file} (held by another process "
                        "building the same environment); raise METAFLOW_CONDA_LOCK_TIMEOUT to wait longer") from None


def install_conda(archives: list[Path], prefix: Path, arch: str, extracted: Path) -> None:
    """Link verified local conda archives into the prefix with py-rattler.

    The records are read from the archives themselves: rattler does not check the hash of
    file:// archives, and these were verified against the environment record just before."""
    import asyncio

    import rattler

    async def install():
        records = [await rattler.RepoDataRecord.from_package_archive(str(path)) for path in archives]
        await rattler.install(records, target_prefix=str(prefix), cache_dir=str(extracted),
                              platform=rattler.Subdir(arch), show_progress=False)

    try:
        asyncio.run(install())
    except Exception as error:  # rattler raises its own exception types
        raise WorkError(f"installing {len(archives)} conda packages into {prefix} failed: {error}") from None


def current_arch() -> str:
    """This machine in conda's terms, linux-aarch64 included."""
    import platform

    system, machine = platform.system(), platform.machine().lower()
    if system == "Darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    if machine in ("aarch64", "arm64"):
        return "linux-aarch64"
    return "linux-64"


def env_folder(cache_root: Path, env_id: str) -> Path:
    return cache_root / "envs" / env_id


def default_locks(cache_root: Path) -> Path:
    return cache_root / "locks"
