"""Building an environment on disk from a record and the store alone: no resolver, no index.

Every file is sha256-verified before install. An environment folder carries a marker
that says whose it is and whether it is complete; a half-built one of ours is rebuilt,
a folder that is not ours is never touched. One OS file lock per environment folder —
beside the folder, named by its resolved path, so every process that builds there takes
the same lock — keeps concurrent creators from building it twice (released by the OS if
its holder dies).

A PyPI environment is a venv on the record's own interpreter: a relocatable CPython build
fetched from the store like any package (sha256-verified), unpacked once per build on a
machine into the interpreters folder, under its own lock, and shared by every environment
made on it. Nothing is downloaded from a public host and no python of the machine is used
(records published before mfci stored interpreters still get the machine's python). This
module is imported by the remote bootstrap: stdlib only, any python >= 3.9.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tarfile
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .arch import current_arch
from .cache import PackageCache
from .errors import UsageError, WorkError
from .io.files import atomic_write_json, read_json_file
from .io.locks import FileLock, LockTimeout
from .io.process import run
from .record import EnvRecord, PackageFile

MARKER = ".mfci-env.json"
# What a python-build-standalone `install_only` archive unpacks to.
INTERPRETER = Path("python") / "bin" / "python3"


def python_path(prefix: Path) -> Path:
    return prefix / "bin" / "python"


def _marker(prefix: Path) -> dict | None:
    marker = read_json_file(prefix / MARKER)
    return marker if isinstance(marker, dict) else None


def _write_marker(prefix: Path, record: EnvRecord, state: str) -> None:
    atomic_write_json(prefix / MARKER, {"env_id": record.env_id, "spec_id": record.spec_id,
                                        "arch": record.arch, "state": state})


def is_complete(prefix: Path, env_id: str) -> bool:
    marker = _marker(prefix)
    return (bool(marker) and marker.get("env_id") == env_id and marker.get("state") == "complete"
            and python_path(prefix).exists())


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


def _machine_python(record: EnvRecord) -> str:
    """For a record without its own interpreter (published by an older mfci): this python
    when it is the record's version, else a request uv resolves among the machine's."""
    running = "%d.%d.%d" % sys.version_info[:3]
    wanted = record.python.split(".")
    if running.split(".")[: len(wanted)] == wanted:
        return sys.executable
    return record.python


def lock_for(prefix: Path, timeout: float) -> FileLock:
    """The lock of an environment folder: beside it, named after its resolved path."""
    resolved = prefix.resolve()
    resolved.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(resolved.parent / f".{resolved.name}.mfci-lock", timeout=timeout)


@contextlib.contextmanager
def holding(folder: Path, timeout: float, what: str):
    """The lock of a folder being built, held for the block; one error line when it cannot be had."""
    try:
        lock = lock_for(folder, timeout)
    except OSError as error:
        raise WorkError(f"cannot create {folder}: {error.strerror or error}") from None
    try:
        with lock:
            yield
    except LockTimeout:
        raise WorkError(f"waited {timeout:.0f}s for the lock {lock.lock_file} (held by another process "
                        f"building the same {what}); raise METAFLOW_CONDA_LOCK_TIMEOUT to wait longer") from None


def _unpack(archive: Path, target: Path) -> None:
    """A tar archive from the store, unpacked in one pass (a compressed archive read twice is
    decompressed twice) without letting any member out of `target`."""
    # Python's own safe filter where it has one (3.12, and the security releases before).
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(archive, "r|*") as tar:
        for member in tar:
            name = os.path.normpath(member.name)
            link = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname)) if member.issym() else (
                os.path.normpath(member.linkname) if member.islnk() else "")
            outside = [path for path in (name, link) if os.path.isabs(path) or path.split(os.sep)[0] == ".."]
            if outside or not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                raise WorkError(f"{archive.name}: refusing member {member.name!r} (leaves the folder or is "
                                "not a file, folder or link)")
            # A folder keeps its default mode until the end, as extractall does, so that
            # a read-only one can still be filled.
            tar.extract(member, target, set_attrs=not member.isdir(), **safe)


def install_interpreter(archive: Path, package: PackageFile, folder: Path, timeout: float) -> Path:
    """The interpreter of a verified CPython build archive, unpacked once per build on this
    machine (`folder/<sha256>`) and shared by every environment that uses it."""
    home = (folder / package.sha256).absolute()   # venvs made on it name it by this path
    python = home / INTERPRETER
    marker = home / MARKER
    if marker.is_file() and python.exists():
        return python
    with holding(home, timeout, f"python {package.version}"):
        if marker.is_file() and python.exists():
            return python
        shutil.rmtree(home, ignore_errors=True)   # half unpacked by a process that died
        staged = Path(tempfile.mkdtemp(dir=folder, prefix=f".{package.sha256[:12]}-"))
        try:
            try:
                _unpack(archive, staged)
            except (tarfile.TarError, OSError, EOFError) as error:
                raise WorkError(f"cannot unpack python {package.version} ({package.filename}): {error}") from None
            if not (staged / INTERPRETER).exists():
                raise WorkError(f"{package.filename} is not a CPython install_only build: it has no {INTERPRETER}")
            atomic_write_json(staged / MARKER, {"sha256": package.sha256, "filename": package.filename,
                                                "version": package.version, "state": "complete"})
            os.replace(staged, home)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    return python


@dataclass(frozen=True)
class Environment:
    python: Path
    built: bool   # False: it was already there, complete


@dataclass(frozen=True)
class Installer:
    """What building environments on this machine needs, made once by the entry point."""

    cache: PackageCache
    uv: str | Future              # a Future while the remote bootstrap is still unpacking it
    extracted: Path           # py-rattler's cache of extracted conda packages
    interpreters: Path        # unpacked CPython builds, one folder per build
    lock_timeout: float
    tool_timeout: float
    jobs: int = 8
    trace: Callable[[str], None] | None = None   # METAFLOW_DEBUG_CONDA: each install step

    def _step(self, line: str) -> None:
        if self.trace:
            self.trace(line)

    def _uv(self) -> str:
        return self.uv.result() if isinstance(self.uv, Future) else self.uv

    def create(self, record: EnvRecord, prefix: Path) -> Environment:
        """The environment at `prefix`, built if needed (once, whoever else asks at the same time)."""
        with holding(prefix, self.lock_timeout, "environment"):
            if _prepare(prefix, record):
                self._step(f"environment {record.env_id[:12]} already complete at {prefix}")
                return Environment(python_path(prefix), built=False)
            self._build(record, prefix)
            return Environment(python_path(prefix), built=True)

    def _build(self, record: EnvRecord, prefix: Path) -> None:
        if record.arch != current_arch():
            raise UsageError(f"environment {record.env_id} is for {record.arch}; this machine is {current_arch()}")
        installed = [package.installed() for package in record.packages]
        self._step(f"building environment {record.env_id[:12]} at {prefix}: fetching {len(installed)} files")
        interpreter = next((package for package in installed if package.kind == "python"), None)
        if any(package.kind == "conda" for package in installed):
            interpreter = None   # conda provides python itself
        with ThreadPoolExecutor(max_workers=self.jobs) as pool, ThreadPoolExecutor(max_workers=1) as side:
            fetching = {package: pool.submit(self.cache.fetch, package) for package in installed}
            if interpreter:  # unpacked while the other files still arrive
                self._step(f"unpacking python {interpreter.version} (once per build)")
                unpacking = side.submit(lambda: install_interpreter(fetching[interpreter].result(), interpreter,
                                                                    self.interpreters, self.lock_timeout))
            files = [(package, future.result()) for package, future in fetching.items()]
            python = unpacking.result() if interpreter else None
        for package, path in files:
            self._step(f"verified {package.filename} ({package.sha256[:12]}) at {path}")
        conda = [path for package, path in files if package.kind == "conda"]
        wheels = [path for package, path in files if package.kind == "pypi"]
        prefix.mkdir(parents=True, exist_ok=True)
        _write_marker(prefix, record, "building")
        if conda:
            self._step(f"installing {len(conda)} conda packages with py-rattler")
            install_conda(conda, prefix, record.arch, self.extracted)
        elif python:
            self._step(f"creating the environment on python {interpreter.version}")
            run([self._uv(), "venv", "--quiet", "--allow-existing", "--no-python-downloads", "--no-config",
                 "--python", str(python), str(prefix)], timeout=self.tool_timeout,
                what=f"creating the environment on python {interpreter.version}", check=True)
        else:
            self._step(f"creating the python {record.python} environment with uv venv")
            done = run([self._uv(), "venv", "--quiet", "--allow-existing", "--no-python-downloads", "--no-config",
                        "--python", _machine_python(record), str(prefix)],
                       timeout=self.tool_timeout, what=f"creating the python {record.python} environment")
            if not done.ok:
                raise WorkError(f"no python {record.python} on this machine for environment {record.env_id[:12]} "
                                f"(published without its interpreter: warm it again): {done.error_text()}")
        if wheels:
            self._step(f"installing {len(wheels)} wheels with uv pip install --offline --no-deps")
            run([self._uv(), "pip", "install", "--quiet", "--offline", "--no-deps", "--no-index", "--no-config",
                 "--python", str(python_path(prefix)), *map(str, wheels)],
                timeout=self.tool_timeout, what=f"installing {len(wheels)} wheels into {prefix}", check=True)
        if not python_path(prefix).exists():
            raise WorkError(f"environment {record.env_id[:12]} at {prefix} has no bin/python after install")
        _write_marker(prefix, record, "complete")


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


def env_folder(cache_root: Path, env_id: str) -> Path:
    return cache_root / "envs" / env_id


def local_installer(settings, store, note=None, uv: str | None = None, trace=None) -> Installer:
    """The installer of this machine: its package cache, its uv, the settings' timeouts.
    A package the store lacks is fetched once from its source, quickly given up on."""
    from .cache import LocalPackages
    from .io.http import Downloader

    cache_root = settings.cache_dir
    downloader = Downloader(settings.credentials, attempts=1, connect_seconds=10)
    cache = PackageCache(store, settings.layout, LocalPackages(cache_root / "pkgs"), downloader, note=note)
    if uv is None:
        from .io.process import uv_binary

        uv = uv_binary()
    return Installer(cache, uv, cache_root / "conda-pkgs", cache_root / "pythons", settings["CONDA_LOCK_TIMEOUT"],
                     settings["CONDA_MFCI_TOOL_TIMEOUT"], trace=trace)
