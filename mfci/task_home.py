"""Where a local task in an environment finds Metaflow and its extensions: a folder kept
between runs, not one made and removed by every run.

Metaflow's @conda/@pypi make every local run wait for its code package to be made, link
each of its thousand-odd files into a new temporary folder, point the tasks' PYTHONPATH at
it and remove it at the end; each task then compiles Metaflow again, since its bytecode
was written under a folder that no longer exists. The folder mfci keeps holds the same
links (to Metaflow's, the extensions' and mfci's files, so an edited file is seen as it
is), named by a hash of that list: an unchanged installation reuses it, bytecode
included, and nothing waits for the package. The flow's own files are not linked: a
local task runs the flow file where it is and imports beside it, as a run without an
environment does."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

READY = ".ready"
UNUSED_DAYS = 7   # homes no run has used for this long are removed


def kept_home(package, environment, folder: Path) -> tuple[str, dict]:
    """(the home's path, the variables a task needs to use it) for a run's code package and
    environment, without waiting for the package to be made."""
    from metaflow.packaging_sys import ContentType

    code = ContentType.CODE_CONTENT.value | ContentType.MODULE_CONTENT.value
    content = package._mfcontent   # Metaflow's and the extensions' part of the package, known at once
    links = {name: path for path, name in content.content_names(code)}
    for path, name, kind in environment.add_to_package():   # what the environment adds (mfci's files)
        if kind.value & code:
            links.setdefault(os.path.join(content._code_dir, name), path)
    # The package's generated files as the package will have them, but for the flow's
    # Configs, which a local task gets as a task without an environment does. INFO (which
    # extensions the package holds) is made here: the package adds its own only later.
    info = json.dumps(environment.get_environment_info(include_ext_info=True)).encode("utf-8")
    generated = {name: data for data, name in list(content.contents(ContentType.OTHER_CONTENT))
                 if isinstance(data, bytes) and os.path.basename(name) not in ("INFO", "CONFIG")}
    generated = sorted({**generated, os.path.join(content._other_dir, content._info_file): info}.items())
    digest = hashlib.sha256(json.dumps(sorted(links.items())).encode())
    for name, data in generated:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    home = folder / digest.hexdigest()[:24]
    if (home / READY).exists():
        os.utime(home / READY)
    else:
        _build(home, links, generated)
        _forget_unused(folder, keep=home)
    return str(home), package.get_post_extract_env_vars(package.package_metadata, str(home))


def _build(home: Path, links: dict, generated: list) -> None:
    """Made aside, then moved in place: a concurrent run finds it whole or makes its own."""
    home.parent.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=".draft-", dir=home.parent))
    for name, source in links.items():
        target = draft / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(source)
    for name, data in generated:
        target = draft / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (draft / READY).touch()
    try:
        draft.rename(home)
    except OSError:   # another run made it first
        shutil.rmtree(draft, ignore_errors=True)


def _forget_unused(folder: Path, keep: Path) -> None:
    cutoff = time.time() - UNUSED_DAYS * 86400
    for home in folder.iterdir():
        try:
            stale = home != keep and (home / READY).stat().st_mtime < cutoff
        except OSError:
            stale = home.name.startswith(".draft-") and home.stat().st_mtime < cutoff
        if stale:
            shutil.rmtree(home, ignore_errors=True)
