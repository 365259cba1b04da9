"""`make demo`: warm the bundled examples into the default local store, then list it.

Each environment's interpreter is a CPython build, which `mfci warm` downloads the way uv
does (uv's download list, python-build-standalone's releases; or your mirror, through
UV_PYTHON_INSTALL_MIRROR and UV_PYTHON_DOWNLOADS_JSON_URL). Where neither can be reached —
a sandbox that reaches only PyPI — the demo makes a build of the python it runs on and
points warm at it as a mirror (the way a team points warm at an internal one), then warms
for this machine's arch: the only one it has a build for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Where warm fetches from without a mirror: uv's list with the builds' sha256, and the builds.
SOURCES = ("https://raw.githubusercontent.com", "https://github.com")


def reachable(url: str) -> bool:
    import urllib3

    try:
        urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=5), retries=False).request("HEAD", url)
        return True
    except urllib3.exceptions.HTTPError:
        return False


def local_mirror() -> dict[str, str]:
    """A build of this python, served as a mirror from a folder: the variables that say so."""
    sys.path.insert(0, str(REPO / "tools"))
    from python_builds import publish, real_build

    folder = REPO / ".demo" / "pythons"
    build = real_build(Path(sys.base_prefix), folder / "builds")
    publish([build], folder / "mirror")
    print(f"demo: CPython builds cannot be downloaded from here; serving a build of this python "
          f"({build.version}) as a mirror from {folder / 'mirror'}", file=sys.stderr, flush=True)
    return {"UV_PYTHON_DOWNLOADS_JSON_URL": str(folder / "mirror" / "download-metadata.json"),
            "UV_PYTHON_INSTALL_MIRROR": (folder / "mirror").as_uri()}


def main() -> int:
    from mfci.arch import current_arch

    environment = {**os.environ, "METAFLOW_USER": os.environ.get("METAFLOW_USER") or os.environ.get("USER") or "demo"}
    arguments = []
    if "UV_PYTHON_DOWNLOADS_JSON_URL" not in environment and not all(map(reachable, SOURCES)):
        environment.update(local_mirror())
        arguments = ["--arch", current_arch()]
    mfci = [sys.executable, "-m", "mfci"]
    warmed = subprocess.run([*mfci, "warm", str(REPO / "examples"), *arguments], env=environment)
    shown = subprocess.run([*mfci, "show"], env=environment)
    return warmed.returncode or shown.returncode


if __name__ == "__main__":
    sys.exit(main())
