"""`mfci lookup` policies and O(1) reads; `mfci create` from the store alone."""

import json
import subprocess
import sys
import time

import pytest
from conftest import mfci, mfci_json, two_step_flow

from mfci.layout import Layout
from mfci.lookup import Policy, find
from mfci.record import EnvRecord, PackageFile
from mfci.store import open_store


@pytest.fixture
def warmed(tmp_path):
    flow = two_step_flow(tmp_path / "flows", "lookup_flow", "LookupFlow", start='@pypi(packages={"six": "1.16.0"})',
                         end='@pypi(packages={"six": "1.15.0"})')
    done = mfci("warm", "flows", "--arch", "linux-64", env={"METAFLOW_USER": "alice"})
    assert done.returncode == 0, done.stderr
    return flow


def lookup(flow, *extra, policy=None, user="bob"):
    env = {"METAFLOW_USER": user}
    if policy is not None:
        env["METAFLOW_CONDA_USE_REMOTE_LATEST"] = policy
    return mfci("lookup", str(flow), "--step", "end", "--arch", "linux-64", *extra, env=env)


def test_lookup_prints_the_exact_environment(warmed):
    done, out = mfci_json("lookup", str(warmed), "--step", "end", "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert set(out) >= {"spec_id", "env_id", "arch", "packages"} and out["arch"] == "linux-64"
    six = next(p for p in out["packages"] if p["name"] == "six")
    assert six["version"] == "1.15.0" and six["kind"] == "pypi" and len(six["sha256"]) == 64
    assert six["url"].startswith("https://")


def test_all_four_policies(warmed):
    assert lookup(warmed, policy=":none:").returncode == 1   # this machine never used it
    assert lookup(warmed, policy=":any:").returncode == 0
    assert lookup(warmed, policy=":username:", user="alice").returncode == 0
    miss = lookup(warmed, policy=":username:", user="bob")
    assert miss.returncode == 1 and "mfci warm" in miss.stderr
    assert lookup(warmed, policy="carol,alice").returncode == 0
    assert lookup(warmed, policy="carol,dave").returncode == 1
    assert lookup(warmed, policy=":none:").returncode == 0   # now it has used it


def test_unknown_step_is_a_usage_error(warmed):
    done = mfci("lookup", str(warmed), "--step", "nope")
    assert done.returncode == 2 and "nope" in done.stderr and "start" in done.stderr


class CountingStore:
    def __init__(self, inner):
        self.inner, self.reads, self.lists = inner, 0, 0

    def read(self, key):
        self.reads += 1
        return self.inner.read(key)

    def list(self, prefix):
        self.lists += 1
        return self.inner.list(prefix)


def test_lookup_reads_are_constant(tmp_path):
    from mfci.publish import publish_record

    store, layout = open_store(str(tmp_path / "s")), Layout()
    package = PackageFile("six", "1.16.0", "pypi", "https://h/six.whl", "six.whl", "0" * 64, 1, "pypi/h/six.whl")
    for n in range(20):  # many publications must not make lookups slower
        record = EnvRecord("spec", "linux-64", "3.11", (package,), resolved_by=f"user{n % 3}",
                           resolved_at=f"2026-01-{n + 1:02d}")
        publish_record(store, layout, record)
    counting = CountingStore(store)
    assert find(counting, layout, "spec", "linux-64", Policy.parse(":any:", "me")) is not None
    assert (counting.reads, counting.lists) == (2, 0)
    counting.reads = 0
    assert find(counting, layout, "spec", "linux-64", Policy.parse("user1,user2,nobody", "me")) is not None
    assert (counting.reads, counting.lists) == (4, 0)


def test_create_builds_verifies_and_refuses(tmp_path, warmed, store_root):
    prefix = tmp_path / "env"
    done = mfci("create", str(warmed), "--step", "end", "--prefix", str(prefix))
    assert done.returncode == 0, done.stderr
    python = done.stdout.strip()
    version = subprocess.run([python, "-c", "import six; print(six.__version__)"], capture_output=True, text=True)
    assert version.stdout.strip() == "1.15.0"
    assert mfci("create", str(warmed), "--step", "end", "--prefix", str(prefix)).returncode == 0  # reused

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = mfci("create", str(warmed), "--step", "end", "--prefix", str(mine))
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert (mine / "notes.txt").read_text() == "keep me"


def test_corrupt_store_object_is_refetched_from_its_source_and_reported(tmp_path, warmed, store_root):
    for wheel in store_root.joinpath("packages").rglob("six-1.15.0*.whl"):
        wheel.write_bytes(b"not a wheel")
    prefix = tmp_path / "env"
    done = mfci("create", str(warmed), "--step", "end", "--prefix", str(prefix),
                env={"METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "fresh-cache")})
    assert done.returncode == 0, done.stderr
    version = subprocess.run([done.stdout.strip(), "-c", "import six; print(six.__version__)"],
                             capture_output=True, text=True)
    assert version.stdout.strip() == "1.15.0"
    checked = mfci("verify")
    assert checked.returncode == 1
    assert [l for l in checked.stderr.splitlines() if l.startswith("violation:")] == [
        l for l in checked.stderr.splitlines() if "six-1.15.0" in l and "sha256" in l]


def test_half_built_environment_is_rebuilt(tmp_path, warmed):
    out = json.loads(mfci("lookup", str(warmed), "--step", "start", "--arch", "linux-64", "--json").stdout)
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / ".mfci-env.json").write_text(json.dumps({"env_id": out["env_id"], "state": "building"}))
    (prefix / "leftover").write_text("from a killed create")
    done = mfci("create", str(warmed), "--step", "start", "--prefix", str(prefix))
    assert done.returncode == 0, done.stderr
    assert not (prefix / "leftover").exists()


def test_show_lists_what_the_store_holds(warmed):
    done, out = mfci_json("show")
    assert done.returncode == 0, done.stderr
    rows = {(e["flow"], e["step"], e["arch"]) for e in out["envs"]}
    assert rows == {("LookupFlow", "start", "linux-64"), ("LookupFlow", "end", "linux-64")}
    for entry in out["envs"]:
        assert entry["resolved_by"] == "alice" and entry["resolved_at"] and len(entry["env_id"]) == 32
    table = mfci("show")
    assert table.returncode == 0 and "LookupFlow" in table.stdout


def test_store_folders_follow_configuration(tmp_path, store_root):
    env = {"METAFLOW_CONDA_PACKAGES_DIRNAME": "pkgs", "METAFLOW_CONDA_ENVS_DIRNAME": "environments"}
    flow = two_step_flow(tmp_path / "flows", "dirs_flow", "DirsFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    assert mfci("warm", "flows", "--arch", "linux-64", env=env).returncode == 0
    assert (store_root / "pkgs" / "pypi").is_dir() and (store_root / "environments").is_dir()
    assert not (store_root / "packages").exists() and not (store_root / "envs").exists()
    assert mfci("create", str(flow), "--step", "end", "--prefix", str(tmp_path / "e"), env=env).returncode == 0


def test_lock_timeout_names_the_lock_and_dead_holders_never_block(tmp_path, warmed):
    from mfci.create import lock_for
    from mfci.io.locks import FileLock

    prefix = tmp_path / "env"
    lock = lock_for(prefix, timeout=0)
    with FileLock(lock.lock_file):
        blocked = mfci("create", str(warmed), "--step", "end", "--prefix", str(prefix),
                       env={"METAFLOW_CONDA_LOCK_TIMEOUT": "1"})
    assert blocked.returncode == 1 and lock.lock_file in blocked.stderr and "LOCK_TIMEOUT" in blocked.stderr

    holder = subprocess.Popen([sys.executable, "-c", f"from mfci.io.locks import FileLock; FileLock({lock.lock_file!r}).acquire(); "
                               "import time; time.sleep(60)"])
    time.sleep(1)
    holder.kill()
    holder.wait(timeout=10)
    done = mfci("create", str(warmed), "--step", "end", "--prefix", str(prefix), env={"METAFLOW_CONDA_LOCK_TIMEOUT": "5"})
    assert done.returncode == 0, done.stderr
