"""Run by a remote task before its step: build the step's environment from the store.

The worker has its image's python (any >= 3.9; it only runs this) and the flow's code
package (Metaflow, mfci's pure Python part) — no mfci dependencies, no uv, no
internet. uv itself comes from the store's remote-installer folder, where `mfci warm` put
the build for each arch; a PyPI environment's interpreter comes from the store with its
packages, so the step runs on the python it pinned whatever the image's is.

    python -m mfci.bootstrap --root URL (--record KEY | --named NAME) --envs DIR --installers DIR
                             --packages DIR --prefix DIR

--named: a step whose named environment is looked up when its task starts (the seed's
fetch_at_exec): NAME[:TAG] or step:FLOW/RUN/STEP, `@{VAR}` taken from this task's
environment (Metaflow sets METAFLOW_RUN_ID on remote tasks).
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .arch import current_arch
from .cache import LocalPackages, PackageCache
from .config import Settings
from .create import Installer
from .errors import MfciError, WorkError, exit_truthfully
from .io.files import atomic_write
from .io.http import Downloader
from .layout import Layout
from .named import NamedEnv, find_named
from .objects import InstallerPointer, read_object
from .record import EnvRecord
from .store import StoreSettings, open_store

WORK = Path(".mfci-bootstrap")


def fetch_tool(cache: PackageCache, tool: str, arch: str) -> Path:
    """The verified wheel of a tool (uv, py-rattler) that `mfci warm` published for this arch."""
    pointer = read_object(cache.store, cache.layout.installer(tool, arch), InstallerPointer.from_json)
    if pointer is None:
        raise WorkError(f"no {tool} for {arch} under {cache.store.url}/{cache.layout.installers}; "
                        f"run `mfci warm --arch {arch}`")
    return cache.fetch(pointer.package)


def install_uv(wheel: Path) -> str:
    """Unpack uv's binary from its wheel."""
    target = WORK / "bin" / "uv"
    if not target.exists():
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
            binary = archive.read(member)
        staged = target.with_name(f".uv-{os.getpid()}")
        atomic_write(staged, binary)  # whole before it is executable under its name
        staged.chmod(0o755)
        os.replace(staged, target)
    return str(target.absolute())


def install_rattler(wheel: Path) -> None:
    """Make py-rattler importable from its (abi3) wheel, for conda environments."""
    site = WORK / "site"
    if not (site / "rattler").is_dir():
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    sys.path.insert(0, str(site.absolute()))


def say(line: str) -> None:
    print(f"mfci bootstrap: {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mfci.bootstrap")
    for option in ("--root", "--installers", "--packages", "--prefix"):
        parser.add_argument(option, required=True)
    parser.add_argument("--envs", default="envs")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--record")
    target.add_argument("--named")
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.load()
        store = open_store(arguments.root, StoreSettings.of(settings))
        layout = Layout(packages=arguments.packages, envs=arguments.envs, installers=arguments.installers)
        if arguments.named:
            named = NamedEnv.parse(arguments.named).substituted(settings.environ)
            record = find_named(store, layout, settings.policy, named, current_arch(), say)
        else:
            record = read_object(store, arguments.record, EnvRecord.from_json)
        if record is None:
            raise WorkError(f"no environment record {store.url}/{arguments.record}; run `mfci warm` again")
        downloader = Downloader(settings.credentials, attempts=1, connect_seconds=10)
        cache = PackageCache(store, layout, LocalPackages(WORK / "pkgs"), downloader, note=say)
        with ThreadPoolExecutor(max_workers=1) as side:
            # uv unpacks from its wheel while the environment's files arrive.
            uv = side.submit(lambda: install_uv(fetch_tool(cache, "uv", record.arch)))
            if any(package.kind == "conda" for package in record.packages):
                install_rattler(fetch_tool(cache, "py-rattler", record.arch))
            installer = Installer(cache, uv, WORK / "conda-pkgs", WORK / "pythons", settings["CONDA_LOCK_TIMEOUT"],
                                  settings["CONDA_MFCI_TOOL_TIMEOUT"])
            python = installer.create(record, Path(arguments.prefix).absolute()).python
    except (MfciError, OSError, ValueError, KeyError, zipfile.BadZipFile, StopIteration) as error:
        say(" ".join(str(error).split()) or type(error).__name__)
        return 1
    say(f"environment {record.env_id[:12]} ready at {python}")
    return 0


if __name__ == "__main__":
    exit_truthfully(main())
