"""Shared fixtures: every test gets its own Metaflow home, store and mfci cache.

Tests talk to real PyPI through uv and run real Metaflow flows in subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mfci.config import Settings

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
# tools/python_builds.py: CPython builds shaped like python-build-standalone's (`make demo` uses it too)
sys.path.insert(0, str(REPO / "tools"))


# The machine's own index configuration (this kind of machine has a pip.conf with local
# mirrors): tests start from none, and configure one where they test it.
TOOL_VARIABLES = ("PIP_", "UV_", "CONDA_OVERRIDE", "CONDA_CHANNELS", "CONDA_CHANNEL_ALIAS", "CONDARC", "CONDA_PREFIX",
                  "CONDA_ROOT", "NETRC", "METAFLOW_", "GITHUB_")


@pytest.fixture(scope="session")
def python_builds(tmp_path_factory) -> list:
    """The CPython builds the suite's environments are made on (tools/python_builds.py): real ones
    of this python and of pyenv's 3.12 for linux-64, fakes for the other archs; made once."""
    from python_builds import machine_builds

    return machine_builds(tmp_path_factory.mktemp("python-builds"))


@pytest.fixture(scope="session")
def python_mirror(python_builds, tmp_path_factory) -> dict:
    """An internal mirror of CPython builds for the whole session, the way a team points uv
    (and so mfci) at one: the download list and the archives, served on 127.0.0.1."""
    from python_builds import publish

    folder = publish(python_builds, tmp_path_factory.mktemp("python-mirror"))
    with serve(folder) as url:
        yield {"UV_PYTHON_DOWNLOADS_JSON_URL": f"{url}/download-metadata.json", "UV_PYTHON_INSTALL_MIRROR": url}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, request):
    for name in list(os.environ):
        if name.startswith(TOOL_VARIABLES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    if not request.module.__name__.startswith("test_unit_"):  # the unit layer runs no uv
        for name, value in request.getfixturevalue("python_mirror").items():
            monkeypatch.setenv(name, value)
    home = tmp_path / "metaflow-home"
    home.mkdir()
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.setenv("METAFLOW_USER", "tester")
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_LOCAL", str(tmp_path / "datastore"))
    monkeypatch.setenv("METAFLOW_CONDA_LOCALROOT", str(tmp_path / "store"))
    monkeypatch.setenv("METAFLOW_CONDA_MFCI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    yield


def settings() -> Settings:
    """The settings a command started now would read."""
    return Settings.load()


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory) -> Path:
    """The test-built conda channel (see conda_channel.py), built once per session."""
    from conda_channel import build_channel

    base = tmp_path_factory.mktemp("conda")
    return build_channel(base / "channel", base / "wheels")


@pytest.fixture
def channel_env(conda_channel, monkeypatch) -> dict:
    """Point mfci at the test channel (as file://) and only at it."""
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", conda_channel.as_uri())
    return {"METAFLOW_CONDA_CHANNELS": conda_channel.as_uri()}


@contextlib.contextmanager
def serve(directory: Path, credentials: str | None = None, *, prefix: str | tuple = "", redirect: dict | None = None,
          seen: list | None = None):
    """A static HTTP server for a folder on 127.0.0.1, for the time of the block.

    credentials ("user:password"): every request must carry them (Basic auth);
    prefix ("/t/TOKEN", or several): files are served under it only, as a token channel does;
    redirect ({"/files/": "http://other"}): requests under a path go there instead (302);
    seen: a list that gets (path, Authorization header) of every request."""
    import base64
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    expected = "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_head(self):
            if seen is not None:
                seen.append((self.path, self.headers.get("Authorization")))
            if expected and self.headers.get("Authorization") != expected:
                self.send_error(401)
                return None
            for start, target in (redirect or {}).items():
                if self.path.startswith(start):
                    self.send_response(302)
                    self.send_header("Location", target.rstrip("/") + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
            if prefix:
                start = next((p for p in ((prefix,) if isinstance(prefix, str) else prefix)
                              if self.path.startswith(p + "/")), None)
                if start is None:
                    self.send_error(404)
                    return None
                self.path = self.path[len(start):]
            return super().send_head()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def simple_index(root: Path, files: list[Path]) -> Path:
    """A PEP 503 index ("<root>/simple/<project>/") holding the given wheels and sdists."""
    import hashlib
    import re
    import shutil

    (root / "files").mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[str]] = {}
    for file in files:
        shutil.copyfile(file, root / "files" / file.name)
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        project = re.sub(r"[-_.]+", "-", re.split(r"-\d", file.name, maxsplit=1)[0]).lower()
        projects.setdefault(project, []).append(f'<a href="../../files/{file.name}#sha256={digest}">{file.name}</a>')
    for project, links in projects.items():
        (root / "simple" / project).mkdir(parents=True, exist_ok=True)
        (root / "simple" / project / "index.html").write_text("\n".join(links))
    return root


@pytest.fixture(scope="session")
def index_wheels(tmp_path_factory) -> list[Path]:
    """Wheels a private test index serves: six for the environments, and uv (the installer
    a warm also publishes for linux-64)."""
    from importlib.metadata import version

    wheels = tmp_path_factory.mktemp("index-wheels")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--dest", str(wheels),
                    "six==1.16.0", f"uv=={version('uv')}"], check=True, capture_output=True,
                   env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    return sorted(wheels.glob("*.whl"))


@pytest.fixture
def http_channel(conda_channel):
    """The same channel served over HTTP on 127.0.0.1, for the time of a test."""
    with serve(conda_channel) as url:
        yield url


@pytest.fixture
def store_root(tmp_path) -> Path:
    """mfci's store: its folder under the CONDA_LOCALROOT set above (the seed's root)."""
    return tmp_path / "store" / "mfci"


def mfci(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600):
    return subprocess.run(
        [sys.executable, "-m", "mfci", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout,
    )


def mfci_json(*args: str, **kwargs) -> tuple[subprocess.CompletedProcess, dict]:
    done = mfci(*args, "--json", **kwargs)
    assert done.stdout.strip(), done.stderr
    return done, json.loads(done.stdout)


def write_flow(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def two_step_flow(folder: Path, name: str, cls: str, *, base: str = "", start: str = "", end: str = "",
                  header: str = "", parent: str = "FlowSpec") -> Path:
    """A start → end flow with the given decorators (one source of every test flow),
    deriving from `parent` (a base class the header imports, say)."""
    source = f"""
{header}
from metaflow import *

{base}
class {cls}({parent}):
    {start}
    @step
    def start(self):
        self.next(self.end)

    {end}
    @step
    def end(self):
        pass

if __name__ == "__main__":
    {cls}()
"""
    return write_flow(folder, name, source)


def run_flow(flow: Path, *args: str, env: dict | None = None, timeout: int = 600):
    return subprocess.run(
        [sys.executable, flow.name, *args], cwd=flow.parent, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )


# --- object-store emulators: started once per session, on demand, always stopped -------

import emulators  # noqa: E402


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    with emulators.moto(tmp_path_factory.mktemp("moto"), emulators.free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def gcs_endpoint(tmp_path_factory):
    with emulators.fake_gcs(tmp_path_factory.mktemp("fake-gcs"), emulators.free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def azure_endpoint(tmp_path_factory):
    with emulators.azurite(tmp_path_factory.mktemp("azurite"), emulators.free_port()) as url:
        yield url


class Cloud:
    """One backend in a test: its root (a fresh bucket), and the environment that points
    mfci at the emulator the way a user would (SDK variables + Metaflow datastore)."""

    def __init__(self, name: str, scheme: str, endpoint: str, bucket: str):
        self.name, self.scheme, self.endpoint, self.bucket = name, scheme, endpoint, bucket
        self.root = f"{scheme}://{bucket}/metaflow/mfci"

    def client_env(self, endpoint: str | None = None) -> dict:
        endpoint = endpoint or self.endpoint
        if self.name == "s3":
            return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
        if self.name == "gs":
            return {"STORAGE_EMULATOR_HOST": endpoint}
        return {"AZURE_STORAGE_CONNECTION_STRING": emulators.azurite_connection_string(endpoint)}

    def env(self) -> dict:
        sysroot = {"s3": "DATASTORE_SYSROOT_S3", "gs": "DATASTORE_SYSROOT_GS", "azure": "DATASTORE_SYSROOT_AZURE"}
        return {**self.client_env(), "METAFLOW_DEFAULT_DATASTORE": self.name,
                f"METAFLOW_{sysroot[self.name]}": f"{self.scheme}://{self.bucket}/metaflow"}

    def make_bucket(self) -> None:
        """Test setup only: mfci never creates buckets."""
        if self.name == "s3":
            import boto3

            boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                         aws_secret_access_key="testing").create_bucket(Bucket=self.bucket)
        elif self.name == "gs":
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            storage.Client(project="test", credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": self.endpoint}).create_bucket(self.bucket)
        else:
            from azure.storage.blob import BlobServiceClient

            BlobServiceClient.from_connection_string(
                emulators.azurite_connection_string(self.endpoint)).create_container(self.bucket)


CLOUDS = {"s3": ("s3", "s3_endpoint"), "gs": ("gs", "gcs_endpoint"), "azure": ("azure", "azure_endpoint")}
_buckets = iter(range(1_000_000))


@pytest.fixture(params=sorted(CLOUDS))
def cloud_empty(request, monkeypatch) -> Cloud:
    """A backend whose bucket does not exist yet; its environment is set for this test."""
    scheme, endpoint_fixture = CLOUDS[request.param]
    cloud = Cloud(request.param, scheme, request.getfixturevalue(endpoint_fixture), f"mfci-test-{next(_buckets)}")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("METAFLOW_CONDA_LOCALROOT")
    for name, value in cloud.env().items():
        monkeypatch.setenv(name, value)
    return cloud


@pytest.fixture
def cloud(cloud_empty) -> Cloud:
    cloud_empty.make_bucket()
    return cloud_empty
