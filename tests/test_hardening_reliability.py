"""Hostile and concurrent inputs hold: many runs at once, two creators of one folder, a full
or read-only store, a store that answers 403 or nothing at all, objects of the wrong
shape, flows that leave helpers behind, files that are not files."""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import mfci, mfci_json, serve, two_step_flow

SIX = '@pypi_base(packages={"six": "1.16.0"})'


@pytest.fixture
def warmed(tmp_path):
    flow = two_step_flow(tmp_path / "flows", "busy_flow", "BusyFlow", base=SIX)
    done = mfci("warm", "flows", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    return flow


def test_many_runs_and_lookups_at_once_all_succeed(warmed):
    env = {**os.environ, "METAFLOW_CONDA_MFCI_STRICT": "1"}
    lookups = [subprocess.Popen([sys.executable, "-m", "mfci", "lookup", str(warmed), "--step", "start",
                                 "--arch", "linux-64"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=env) for _ in range(12)]
    runs = [subprocess.Popen([sys.executable, warmed.name, "--environment=pypi", "run"], cwd=warmed.parent,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for _ in range(6)]
    for process in lookups + runs:
        output = process.communicate(timeout=600)
        assert process.returncode == 0, output


def test_two_creators_of_one_folder_build_it_once(tmp_path, warmed):
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "envs-root", target_is_directory=True)
    (tmp_path / "envs-root").mkdir()
    spellings = [tmp_path / "envs-root" / "env", tmp_path / "sub" / ".." / "envs-root" / "env",
                 tmp_path / "link" / "env"]
    creators = [subprocess.Popen([sys.executable, "-m", "mfci", "create", str(warmed), "--step", "end",
                                  "--prefix", str(prefix)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / f"cache{n}")})
                 for n, prefix in enumerate(spellings)]
    outputs = [creator.communicate(timeout=600) for creator in creators]
    assert [c.returncode for c in creators] == [0, 0, 0], outputs
    states = sorted("built" if "built" in err else "already there" for _, err in outputs)
    assert states == ["already there", "already there", "built"], outputs
    python = tmp_path / "envs-root" / "env" / "bin" / "python"
    assert subprocess.run([python, "-c", "import six"]).returncode == 0


def in_namespace(script: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a shell script as root of a new user and mount namespace (tiny or read-only
    filesystems, mounted for the test alone)."""
    return subprocess.run(["unshare", "-Urm", "sh", "-c", script], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_a_full_store_fails_its_rows_by_name_and_leaves_nothing_behind(tmp_path):
    two_step_flow(tmp_path / "flows", "full_flow", "FullFlow", base=SIX)
    root = tmp_path / "tiny"
    root.mkdir()
    script = (f"mount -t tmpfs -o size=8k tmpfs {root} && {sys.executable} -m mfci warm flows --arch linux-64 "
              f"--root {root} --json > out.json 2> err.txt; echo $? > rc; "
              f"find {root} -name '.tmp-*' > leftovers; true")
    done = in_namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr
    errors = (tmp_path / "err.txt").read_text()
    assert (tmp_path / "rc").read_text().strip() == "1", errors
    out = json.loads((tmp_path / "out.json").read_text())
    assert {e["status"] for e in out["envs"]} == {"failed"}
    assert "No space left on device" in errors and str(root) in errors and "internal error" not in errors
    assert (tmp_path / "leftovers").read_text() == ""


def test_a_read_only_store_root_exits_2_naming_it(tmp_path):
    two_step_flow(tmp_path / "flows", "ro_flow", "ReadOnlyFlow", base=SIX)
    root = tmp_path / "ro"
    root.mkdir()
    script = (f"mount -t tmpfs tmpfs {root} && mount -o remount,ro {root} && "
              f"{sys.executable} -m mfci warm flows --arch linux-64 --root {root}; echo rc=$?")
    done = in_namespace(script, tmp_path)
    assert "rc=2" in done.stdout, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(root) in lines[0] and "not writable" in lines[0], done.stderr


def test_permissions_fail_by_name_unreadable_flows_included(tmp_path):
    """Folders and files of another user, seen from a user namespace (where root's powers
    stop at files it does not own): exit 2 for an unwritable root, else the rows fail."""
    flows = tmp_path / "flows"
    two_step_flow(flows, "open_flow", "OpenFlow", base=SIX)
    closed = two_step_flow(flows, "closed_flow", "ClosedFlow", base=SIX)
    locked, store = tmp_path / "locked-store", tmp_path / "store"
    locked.mkdir()
    (store / "packages").mkdir(parents=True)
    for path in (closed, locked, store / "packages"):
        os.chown(path, 1234, 1234)
    closed.chmod(0)
    script = (f"{sys.executable} -m mfci warm flows --arch linux-64 --root {locked} 2> locked.txt; echo $? > locked.rc; "
              f"{sys.executable} -m mfci warm flows --arch linux-64 --root {store} --json > out.json 2> err.txt; "
              "echo $? > rc")
    subprocess.run(["unshare", "-Ur", "sh", "-c", script], cwd=tmp_path, timeout=600, check=True)
    refused = (tmp_path / "locked.txt").read_text()
    assert (tmp_path / "locked.rc").read_text().strip() == "2", refused
    assert "not writable" in refused and str(locked) in refused and len(refused.strip().splitlines()) == 1
    errors = (tmp_path / "err.txt").read_text()
    assert (tmp_path / "rc").read_text().strip() == "1", errors
    lines = [line for line in errors.splitlines() if line.startswith("error:")]
    assert any("closed_flow.py" in line and "Permission denied" in line for line in lines), errors
    assert any("packages/pypi" in line and "Permission denied" in line for line in lines), errors
    assert "internal error" not in errors and "Traceback" not in errors
    out = json.loads((tmp_path / "out.json").read_text())
    assert {e["status"] for e in out["envs"]} == {"failed"}
    assert not list(store.rglob(".tmp-*"))


def test_files_that_are_not_files_are_passed_over_by_name(tmp_path):
    flows = tmp_path / "flows"
    two_step_flow(flows, "real_flow", "RealFlow", base=SIX)
    os.mkfifo(flows / "pipe_flow.py")
    (flows / "zero_flow.py").symlink_to("/dev/zero")
    done, out = mfci_json("warm", "flows", "--arch", "linux-64", timeout=300)
    assert done.returncode == 0, done.stderr
    assert {e["flow"] for e in out["envs"]} == {"RealFlow"}
    assert "pipe_flow.py: not a regular file" in done.stderr and "zero_flow.py: not a regular file" in done.stderr


def test_a_flow_that_leaves_a_helper_running_does_not_hold_discovery(tmp_path):
    # A flow that starts a helper in a session of its own, which outlives the flow and keeps
    # its stdout and stderr open (a tracking agent, a port-forward...).
    two_step_flow(tmp_path / "flows", "daemon_flow", "DaemonFlow", base=SIX, header="""import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)""")
    for mode in ("subprocess", "fork"):
        done = mfci("check", "flows", "--arch", "linux-64", env={"METAFLOW_CONDA_MFCI_DISCOVERY": mode}, timeout=120)
        assert done.returncode == 1 and "missing: " in done.stderr, done.stderr


class Silent(threading.Thread):
    """A TCP endpoint that accepts connections and never answers (a hung proxy or store)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.held = []

    def run(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        self.socket.close()
        for connection in self.held:
            connection.close()


@pytest.mark.parametrize("backend", ["s3", "gs", "azure"])
def test_a_hung_store_endpoint_fails_in_bounded_time(backend, tmp_path, warmed):
    from conftest import emulators

    silent = Silent()
    silent.start()
    env = {"s3": {"AWS_ENDPOINT_URL": silent.url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                  "AWS_DEFAULT_REGION": "us-east-1"},
           "gs": {"STORAGE_EMULATOR_HOST": silent.url},
           "azure": {"AZURE_STORAGE_CONNECTION_STRING": emulators.azurite_connection_string(silent.url)}}[backend]
    try:
        done = mfci("lookup", str(warmed), "--step", "start", "--arch", "linux-64", "--root", f"{backend}://bucket/mfci",
                    env={**env, "METAFLOW_CONDA_MFCI_STORE_TIMEOUT": "1"}, timeout=180)
    finally:
        silent.close()
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("mfci: error:") and "bucket/mfci/envs/" in line and "Traceback" not in done.stderr


def test_s3s_403_for_a_missing_key_is_a_miss(tmp_path, warmed):
    """S3 answers 403, not 404, for a missing key when the role may not list the bucket."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = b'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'

    class Denying(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Denying)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = mfci("lookup", str(warmed), "--step", "start", "--arch", "linux-64", "--root", "s3://bucket/mfci",
                    env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_address[1]}",
                         "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stderr
    assert "no environment for" in done.stderr and "access denied" not in done.stderr


def test_wrong_shapes_are_one_line_everywhere_bootstrap_included(tmp_path, warmed, store_root):
    out = json.loads(mfci("lookup", str(warmed), "--step", "start", "--arch", "linux-64", "--json").stdout)
    latest = store_root / "envs" / out["spec_id"] / "linux-64" / "latest.json"
    latest.write_text(json.dumps(["not", "a", "pointer"]))
    done = mfci("lookup", str(warmed), "--step", "start", "--arch", "linux-64")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "latest.json is not a valid pointer" in line

    record = store_root / "envs" / out["spec_id"] / "linux-64" / f"{out['env_id']}.json"
    data = json.loads(record.read_text())
    data["packages"] = "everything"
    record.write_text(json.dumps(data))
    checked = mfci("verify", "--no-hashes")
    violations = [l for l in checked.stderr.splitlines() if l.startswith("violation:")]
    assert checked.returncode == 1 and any("latest.json: not a valid pointer" in v for v in violations)
    assert any(f"{out['env_id']}.json: not a valid environment record" in v for v in violations)
    assert "Traceback" not in checked.stderr

    worker = tmp_path / "worker"
    worker.mkdir()
    key = record.relative_to(store_root).as_posix()
    boot = subprocess.run([sys.executable, "-m", "mfci.bootstrap", "--root", str(store_root), "--record", key,
                           "--installers", "remote-installers", "--packages", "packages", "--prefix", "env"],
                          cwd=worker, capture_output=True, text=True, timeout=120)
    assert boot.returncode == 1 and "Traceback" not in boot.stderr
    [line] = boot.stderr.strip().splitlines()
    assert line.startswith("mfci bootstrap:") and key in line and "not a valid environment record" in line


def test_a_source_build_is_made_for_each_target_python(tmp_path):
    from mfci.io.process import uv_binary

    source = tmp_path / "cext"
    source.mkdir()
    (source / "setup.py").write_text('from setuptools import Extension, setup\n'
                                     'setup(name="cext-py", version="1.0", ext_modules=[Extension("cext_py", ["m.c"])])\n')
    (source / "m.c").write_text('#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "cext_py", '
                                'NULL, -1, NULL};\nPyMODINIT_FUNC PyInit_cext_py(void) { return PyModule_Create(&m); }\n')
    (source / "MANIFEST.in").write_text("include m.c\n")
    subprocess.run([uv_binary(), "build", "--sdist", "--quiet", "--out-dir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True)
    from conftest import simple_index

    index = simple_index(tmp_path / "index", list((tmp_path / "dist").glob("*.tar.gz")))
    two_step_flow(tmp_path / "flows", "cext_flow", "CextFlow", base='@pypi_base(packages={"cext-py": "1.0"})')
    other = sorted(Path(sys.base_prefix).parent.glob("3.12.*"))
    assert other, "a python 3.12 next to this one (pyenv) is needed to build for it"
    with serve(index) as url:
        done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--python", "3.11", "--python", "3.12",
                              env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": f"{url}/simple",
                                   "UV_INDEX": "https://pypi.org/simple",
                                   "PATH": f"{other[-1] / 'bin'}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert {e["python"] for e in out["envs"]} == {"3.11", "3.12"}
    files = {p.name for p in tmp_path.joinpath("store", "mfci", "packages").rglob("cext_py-*.whl")}
    assert any("cp311" in name for name in files) and any("cp312" in name for name in files), files
