"""Forked and cached discovery give what a fresh python per flow gives, and are invalidated by
what the flow used; a no-op warm resolves and uploads nothing. Counts only, never timings."""

import json
import shutil

import pytest
from conftest import EXAMPLES, mfci, settings, two_step_flow, write_flow

from mfci import discovery_cache
from mfci.cli._progress import Reporter
from mfci.discover import DiscoveryOptions, discover, flow_environment
from mfci.plan import PlanOptions
from mfci.warm import Warmer


def discovered(paths, mode, cache=None):
    options = DiscoveryOptions(120, mode, cache, flow_environment(settings()))
    return discover([str(p) for p in paths], 2, options).reports


def cached(paths, cache):
    return discovered(paths, "fork", cache)


@pytest.fixture
def repo(tmp_path):
    """Flows that read a local module, a Config file, an environment variable; one broken."""
    folder = tmp_path / "repo"
    shutil.copytree(EXAMPLES, folder / "examples")
    write_flow(folder / "local", "shared", 'PACKAGES = {"six": "1.16.0"}\n')
    two_step_flow(folder / "local", "module_flow", "ModuleFlow", header="from shared import PACKAGES",
                  start="@pypi(packages=PACKAGES)")
    two_step_flow(folder / "env", "env_flow", "EnvFlow", header="import os",
                  start='@pypi(packages={"six": os.environ.get("SIX_VERSION", "1.16.0")})')
    write_flow(folder / "broken", "broken_flow", "from metaflow import FlowSpec\nraise ValueError('nope')\n"
               "class BrokenFlow(FlowSpec):\n    pass\nif __name__ == '__main__':\n    BrokenFlow()\n")
    return folder


def test_forked_and_cached_discovery_equal_the_plain_path(repo, tmp_path):
    plain = discovered([repo], "subprocess")
    assert len(plain) == 5 and [r.file for r in plain if r.error] == [str(repo / "broken/broken_flow.py")]
    assert cached([repo], tmp_path / "cache") == plain       # forked, fills the cache
    assert cached([repo], tmp_path / "cache") == plain       # from the cache
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 4   # failures are not kept


def six_of(reports, name):
    report = next(r for r in reports if r.file.endswith(name))
    return next(s for s in report.steps if s.step == "start").pypi.get("six")


def test_cache_follows_what_the_flow_used(repo, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cached([repo], cache)
    entries = lambda: {path: path.stat().st_mtime_ns for path in cache.rglob("*.json")}  # noqa: E731
    before = entries()
    cached([repo], cache)
    assert entries() == before                          # nothing changed: no flow run again

    (repo / "local/shared.py").write_text('PACKAGES = {"six": "1.15.0"}\n')   # an imported module
    assert six_of(cached([repo], cache), "module_flow.py") == "1.15.0"

    deps = repo / "examples/configured/deps.json"                              # a Config file it reads
    data = json.loads(deps.read_text())
    data["packages"]["tomli"] = "2.0.2"
    deps.write_text(json.dumps(data))
    configured = next(r for r in cached([repo], cache) if r.file.endswith("configured_flow.py"))
    assert next(s for s in configured.steps if s.step == "start").pypi["tomli"] == "2.0.2"

    monkeypatch.setenv("SIX_VERSION", "1.14.0")                                 # a variable it reads
    assert six_of(cached([repo], cache), "env_flow.py") == "1.14.0"

    flow = repo / "env/env_flow.py"                                             # the flow itself
    flow.write_text(flow.read_text().replace('"1.16.0"', '"1.13.0"'))
    monkeypatch.delenv("SIX_VERSION")
    assert six_of(cached([repo], cache), "env_flow.py") == "1.13.0"


def test_settings_and_versions_change_the_fingerprint(monkeypatch):
    environment = {"METAFLOW_HOME": "/nowhere", "PATH": "/bin"}
    base = discovery_cache.fingerprint(environment)
    assert discovery_cache.fingerprint({**environment, "METAFLOW_DEFAULT_DATASTORE": "s3"}) != base
    assert discovery_cache.fingerprint({**environment, "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/tmp/x"}) == base
    real = discovery_cache.metadata.version
    monkeypatch.setattr(discovery_cache.metadata, "version",
                        lambda name: "99.0" if name == "metaflow" else real(name))
    assert discovery_cache.fingerprint(environment) != base


def test_a_new_module_where_an_import_looks_invalidates(repo, tmp_path):
    cache = tmp_path / "cache"
    cached([repo / "local"], cache)
    # `shared` now resolves to a package folder beside the flow, found before the module file
    (repo / "local/shared.py").unlink()
    write_flow(repo / "local/shared", "__init__", 'PACKAGES = {"six": "1.12.0"}\n')
    assert six_of(cached([repo / "local"], cache), "module_flow.py") == "1.12.0"


class CountingStore:
    """Counts every store call by name."""

    def __init__(self, inner):
        self.inner, self.calls = inner, {}

    def __getattr__(self, name):
        method = getattr(self.inner, name)
        if not callable(method):
            return method

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)
        return counted


@pytest.mark.network
def test_noop_warm_resolves_and_uploads_nothing(tmp_path, store_root):
    flows = tmp_path / "flows"
    for n in range(3):  # three flows, one environment each step: 2 distinct specs
        two_step_flow(flows, f"noop_{n}_flow", f"Noop{n}Flow", start='@pypi(packages={"six": "1.16.0"})')
    assert mfci("warm", str(flows), "--arch", "linux-64", "--arch", "osx-arm64").returncode == 0
    store = CountingStore(settings().open_store())
    plan = Warmer(settings(), store, Reporter(quiet=True)).warm(
        PlanOptions([str(flows)], ["linux-64", "osx-arm64"], ["3.11"], 4))
    assert {row.status for row in plan.rows} == {"hit"} and not plan.errors
    pairs = len(plan.specs)
    assert pairs == 4
    assert store.calls.get("create", 0) == store.calls.get("create_from_file", 0) == 0   # no record, no package
    assert store.calls.get("list", 0) == 0
    reads = store.calls.get("read", 0) + store.calls.get("read_versioned", 0) + store.calls.get("exists", 0)
    # One pointer per (spec, arch), the installers' versions (uv per arch), the manifest.
    assert reads <= pairs + 2 + 2
