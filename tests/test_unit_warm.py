"""Fast unit layer: the warm pipeline (resolve → cache → publish → lookup) with a fake
resolver and an in-memory store, in milliseconds."""

import hashlib

from memory_store import FakeResolver, FakeResolvers, MemoryStore

from mfci.cli._progress import Reporter
from mfci.config import Settings
from mfci.lookup import Policy, find
from mfci.record import PackageFile
from mfci.spec import StepRequirement, build_spec
from mfci.status import Status
from mfci.warm import Warmer


def test_resolve_store_publish_then_hit(tmp_path):
    wheel = tmp_path / "six-1.16.0-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    package = PackageFile("six", "1.16.0", "pypi", wheel.as_uri(), wheel.name,
                          hashlib.sha256(b"a wheel").hexdigest(), 7, "pypi/local/six-1.16.0-py3-none-any.whl")
    settings = Settings.load({"METAFLOW_HOME": str(tmp_path), "METAFLOW_USER": "ci",
                              "METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "cache")})
    store, resolver = MemoryStore(), FakeResolver([package])
    warmer = Warmer(settings, store, Reporter(quiet=True), FakeResolvers(resolver))
    spec = build_spec(StepRequirement("f.py", "F", "s", pypi={"six": "1.16.0"}), settings.spec_inputs, "linux-64")

    first = warmer.warm_one(spec, "linux-64", jobs=2)
    again = warmer.warm_one(spec, "linux-64", jobs=2)
    assert (first.status, again.status, len(resolver.calls)) == (Status.RESOLVED, Status.HIT, 1)
    assert store.objects[settings.layout.package(package.key)] == b"a wheel"
    found = find(store, settings.layout, spec.spec_id, "linux-64", Policy.parse(":any:", "me"))
    assert found.env_id == first.env_id and found.resolved_by == "ci" and found.packages == (package,)
