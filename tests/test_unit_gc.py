"""Fast unit layer: what `mfci gc` keeps and removes, over an in-memory store whose objects
are given ages — a team's store after months of warms: requirement changes leave old specs
behind, aliases pin releases, sharded CI leaves per-commit manifest parts."""

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from memory_store import MemoryStore

from mfci.alias import Alias, publish_alias
from mfci.gc import GcOptions, collect
from mfci.layout import Layout
from mfci.objects import EnvRef, InstallerPointer, MalformedObject
from mfci.publish import merge_manifest, publish_manifest_part, publish_record
from mfci.record import EnvRecord, PackageFile
from mfci.shard import Shard
from mfci.verify import verify

LAYOUT = Layout()
OLD = datetime.now(timezone.utc) - timedelta(days=90)
KEEP_NOTHING_BY_AGE = GcOptions(keep_days=0, grace_seconds=0)


def package(name: str, version: str = "1.0") -> PackageFile:
    data = f"{name}-{version}".encode()
    return PackageFile(name, version, "pypi", f"https://files.example/{name}-{version}-py3-none-any.whl",
                       f"{name}-{version}-py3-none-any.whl", hashlib.sha256(data).hexdigest(), len(data),
                       f"pypi/files.example/{name}-{version}-py3-none-any.whl")


def spec_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def publish(store: MemoryStore, spec: str, *packages: PackageFile) -> EnvRecord:
    record = EnvRecord(spec_id(spec), "linux-64", "3.11", packages, resolved_by="ci",
                       resolved_at="2026-01-01T00:00:00+00:00")
    for each in packages:
        store.create(LAYOUT.package(each.key), f"{each.name}-{each.version}".encode())
    publish_record(store, LAYOUT, record)
    return record


def entry(record: EnvRecord, step: str) -> dict:
    return {"file": "flows/train.py", "step": step, "arch": record.arch, "python": "3.11",
            "spec_id": record.spec_id, "env_id": record.env_id}


def age_everything(store: MemoryStore, when: datetime = OLD) -> None:
    store.modified = {key: when for key in store.objects}


def keys_of(record: EnvRecord) -> set[str]:
    return {LAYOUT.record(record.spec_id, record.arch, record.env_id)} | {LAYOUT.package(p.key) for p in record.packages}


def test_a_changed_requirement_leaves_its_old_environment_to_gc():
    store = MemoryStore()
    shared = package("numpy", "2.1.0")
    before = publish(store, "pandas==2.1", shared, package("pandas", "2.1.0"))
    merge_manifest(store, LAYOUT, "acme/flows", "c1", [entry(before, "train")])
    after = publish(store, "pandas==2.2", shared, package("pandas", "2.2.0"))
    merge_manifest(store, LAYOUT, "acme/flows", "c2", [entry(after, "train")])  # same step: entry replaced
    released = publish(store, "scikit-learn", package("scikit-learn", "1.5.0"))
    publish_alias(store, LAYOUT, Alias.parse("fraud-model:v3"),
                  {"linux-64": EnvRef(released.spec_id, released.env_id)}, "ci")
    installer = package("uv", "0.9.0")
    store.create(LAYOUT.package(installer.key), b"uv-0.9.0")
    store.replace(LAYOUT.installer("uv", "linux-64"), json.dumps(
        InstallerPointer("0.9.0", installer).to_json()).encode(), None)
    store.create("envs/conda_env/seed-owned.json", b"{}")          # the seed's, in a shared root
    age_everything(store)
    total = sum(len(data) for data in store.objects.values())

    report = collect(store, LAYOUT, KEEP_NOTHING_BY_AGE)

    gone = {LAYOUT.record(before.spec_id, "linux-64", before.env_id), LAYOUT.latest(before.spec_id, "linux-64"),
            LAYOUT.user_pointer(before.spec_id, "linux-64", "ci"), LAYOUT.package(package("pandas", "2.1.0").key)}
    assert {e.key for entries in report.removed.values() for e in entries} == gone
    assert not gone & set(store.objects)
    assert keys_of(after) | keys_of(released) | {"envs/conda_env/seed-owned.json"} <= set(store.objects)
    assert report.bytes_freed == total - sum(len(data) for data in store.objects.values())
    assert [len(report.removed[k]) for k in ("pointer", "record", "package")] == [2, 1, 1]
    assert verify(store, LAYOUT).violations == []
    assert collect(store, LAYOUT, KEEP_NOTHING_BY_AGE).count == 0   # a second gc finds nothing


def test_recent_and_young_objects_stay_and_dry_run_removes_nothing():
    store = MemoryStore()
    stale = publish(store, "flask==2", package("flask", "2.0.0"))
    age_everything(store, datetime.now(timezone.utc) - timedelta(days=10))
    assert collect(store, LAYOUT, GcOptions(keep_days=30)).count == 0          # newer than D days
    assert collect(store, LAYOUT, GcOptions(keep_days=0, grace_seconds=30 * 86400)).count == 0  # in the grace
    snapshot = dict(store.objects)
    planned = collect(store, LAYOUT, GcOptions(keep_days=7, dry_run=True))
    assert planned.count == 4 and store.objects == snapshot and store.calls["delete"] == 0
    assert collect(store, LAYOUT, GcOptions(keep_days=7)).to_json()["removed"] == 4
    assert not keys_of(stale) & set(store.objects)


def test_a_warm_publishing_during_gc_keeps_the_package_it_reuses():
    """Packages unreachable at the start whose record appears while gc runs: the young record
    (inside the grace) keeps them, and records are listed again before packages go."""
    store = MemoryStore()
    reused = package("requests", "2.32.0")
    publish(store, "requests==2.32 old", reused)
    age_everything(store)
    delete = store.delete
    published = []

    def delete_while_a_warm_publishes(key):
        if not published:  # a warm finds the package already stored and publishes a new record
            published.append(EnvRecord(spec_id("requests==2.32 new"), "linux-64", "3.11", (reused,),
                                       resolved_by="ci", resolved_at="2026-02-01T00:00:00+00:00"))
            publish_record(store, LAYOUT, published[0])
        delete(key)

    store.delete = delete_while_a_warm_publishes
    report = collect(store, LAYOUT, KEEP_NOTHING_BY_AGE)
    assert report.removed["package"] == []
    assert LAYOUT.package(reused.key) in store.objects
    assert verify(store, LAYOUT).violations == []


def test_the_last_k_manifests_per_repository_keep_their_environments():
    store = MemoryStore()
    commits = []
    for number in range(4):  # sharded CI: every commit's parts, never merged
        record = publish(store, f"torch=={number}", package("torch", f"2.{number}.0"))
        publish_manifest_part(store, LAYOUT, "acme/flows", f"commit{number}", Shard(1, 1), [entry(record, "train")])
        commits.append(record)
    age_everything(store)
    for number, record in enumerate(commits):  # commit n was published n days after the first
        when = OLD + timedelta(days=number)
        for key in list(store.objects):
            if f"commit{number}/" in key or key.startswith(f"envs/{record.spec_id}/"):
                store.modified[key] = when

    report = collect(store, LAYOUT, GcOptions(keep_manifests=2, keep_days=0, grace_seconds=0))

    assert sorted(e.key for e in report.removed["manifest part"]) == [
        "shard-manifests/acme/flows/commit0/1-of-1.json", "shard-manifests/acme/flows/commit1/1-of-1.json"]
    for record in commits[:2]:
        assert not keys_of(record) & set(store.objects)
    for record in commits[2:]:
        assert keys_of(record) <= set(store.objects)
    assert verify(store, LAYOUT).violations == []


def test_a_malformed_object_stops_gc_before_anything_is_removed():
    store = MemoryStore()
    stale = publish(store, "attrs", package("attrs", "23.1.0"))
    store.objects[LAYOUT.alias("team/etl", "v1")] = b'{"format": 2, "envs": {}}'
    age_everything(store)
    snapshot = dict(store.objects)
    with pytest.raises(MalformedObject, match="v1.json is not a valid alias"):
        collect(store, LAYOUT, KEEP_NOTHING_BY_AGE)
    assert store.objects == snapshot and keys_of(stale) <= set(store.objects)
