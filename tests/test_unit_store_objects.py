"""Fast unit layer: publication, lookup policies and verify over an in-memory store, and
the shape every store object must have (hostile objects are one line naming them)."""

import hashlib
import json
import threading

import pytest
from memory_store import MemoryStore

from mfci.errors import WorkError
from mfci.layout import Layout
from mfci.lookup import LocalPins, Policy, find, find_by_alias, published
from mfci.objects import MalformedObject, Pointer
from mfci.publish import publish_record
from mfci.record import Converted, EnvRecord, PackageFile
from mfci.verify import verify

SPEC = "a" * 64
LAYOUT = Layout()


def content(name: str, variant: str) -> bytes:
    return f"{name} {variant}".encode()


def package(name="six", sha="0", kind="pypi", **extra) -> PackageFile:
    """A package whose bytes are content(name, sha): published stores hold exactly those."""
    digest = hashlib.sha256(content(name, sha)).hexdigest()
    return PackageFile(name, "1.0", kind, f"https://h/{name}-{sha}.whl", f"{name}.whl", digest, 3,
                       f"{kind}/h/{name}-{sha}.whl", **extra)


def record(at: str, *packages, user="ci") -> EnvRecord:
    return EnvRecord(SPEC, "linux-64", "3.11", packages or (package(),), resolved_by=user, resolved_at=at)


def published_store(*records) -> MemoryStore:
    store = MemoryStore()
    for each in records:
        for p in each.packages:
            store.create(LAYOUT.package(p.key), content(p.name, p.url.rsplit("-", 1)[1].split(".")[0]))
        publish_record(store, LAYOUT, each)
    return store


def test_policies_pick_whose_publication_counts():
    alice, bob = record("2026-01-01T00:00:00+00:00", package(sha="1"), user="alice"), record(
        "2026-01-02T00:00:00+00:00", package(sha="2"), user="bob")
    store = published_store(alice, bob)
    assert find(store, LAYOUT, SPEC, "linux-64", Policy.parse(":any:", "me")).env_id == bob.env_id
    assert find(store, LAYOUT, SPEC, "linux-64", Policy.parse(":username:", "alice")).env_id == alice.env_id
    assert find(store, LAYOUT, SPEC, "linux-64", Policy.parse("carol,alice", "me")).env_id == alice.env_id
    assert find(store, LAYOUT, SPEC, "linux-64", Policy.parse("carol", "me")) is None
    assert find(store, LAYOUT, SPEC, "linux-64", Policy.parse(":none:", "me")) is None
    # warm and check count anyone's publication under :none:, or they would resolve again for ever
    assert published(store, LAYOUT, Policy.parse(":none:", "me"), SPEC, "linux-64").env_id == bob.env_id


def test_lookups_are_two_reads_and_no_listing():
    store = published_store(*(record(f"2026-01-{n + 1:02d}T00:00:00+00:00", package(sha=str(n % 10)))
                              for n in range(20)))
    store.calls.clear()
    assert find(store, LAYOUT, SPEC, "linux-64", Policy.parse(":any:", "me")) is not None
    assert (store.calls["read"], store.calls["list"]) == (2, 0)


def test_an_older_resolution_never_moves_latest_back():
    newer, older = record("2026-05-02T10:00:00.000002+00:00", package(sha="2")), record(
        "2026-05-02T10:00:00.000001+00:00", package(sha="1"))
    store = published_store(newer, older)   # the older warm finished last
    latest = Pointer.from_json(json.loads(store.read(LAYOUT.latest(SPEC, "linux-64"))))
    assert latest.env_id == newer.env_id
    # both records stay published: the older one is still there for whoever pinned it
    assert store.exists(LAYOUT.record(SPEC, "linux-64", older.env_id))


def test_converted_archives_do_not_change_the_env_id():
    plain = package(kind="conda")
    converted = package(kind="conda", converted=Converted("six.conda", "9" * 64, 1, "conda/h/six.converted/x"))
    assert record("t", plain).env_id == record("t", converted).env_id
    assert converted.installed().filename == "six.conda" and converted.installed().sha256 == "9" * 64
    round_trip = EnvRecord.from_json(json.loads(record("t", converted).to_bytes()))
    assert round_trip.packages[0].converted == converted.converted


@pytest.mark.parametrize("key,text,what", [
    ("envs/{spec}/linux-64/latest.json", "[1, 2]", "pointer"),
    ("envs/{spec}/linux-64/latest.json", '{"env_id": "../../../etc/passwd"}', "pointer"),
    ("envs/{spec}/linux-64/latest.json", '{"env_id": "' + "b" * 32 + '", "format": 9}', "pointer"),
    ("envs/{spec}/linux-64/latest.json", "not json", "pointer"),
])
def test_a_malformed_pointer_is_one_line_naming_it(key, text, what):
    store = MemoryStore()
    store.put_json(key.format(spec=SPEC), text)
    with pytest.raises(MalformedObject) as failed:
        find(store, LAYOUT, SPEC, "linux-64", Policy.parse(":any:", "me"))
    message = str(failed.value)
    assert f"{store.url}/{key.format(spec=SPEC)}" in message and what in message and "\n" not in message


@pytest.mark.parametrize("alias", ['{"spec_id": "%s", "envs": []}' % SPEC, '{"spec_id": "x", "envs": {"linux-64": "%s"}}'
                                   % ("b" * 32), '{"spec_id": "%s", "envs": {"win-64": "%s"}}' % (SPEC, "b" * 32)])
def test_a_malformed_alias_is_one_line_naming_it(alias):
    from mfci.alias import Alias

    store = MemoryStore()
    store.put_json("envs/aliases/team/latest.json", alias)
    with pytest.raises(MalformedObject, match="envs/aliases/team/latest.json"):
        find_by_alias(store, LAYOUT, Alias.parse("team"), "linux-64")


def test_a_package_of_unknown_kind_is_refused_by_name():
    data = json.loads(record("t").to_bytes())
    data["packages"][0]["kind"] = "rpm"
    store = MemoryStore()
    store.put_json(LAYOUT.latest(SPEC, "linux-64"), json.dumps({"env_id": data["env_id"]}))
    store.put_json(LAYOUT.record(SPEC, "linux-64", data["env_id"]), json.dumps(data))
    with pytest.raises(WorkError, match="unknown package kind 'rpm'"):
        find(store, LAYOUT, SPEC, "linux-64", Policy.parse(":any:", "me"))


def test_verify_reports_every_wrong_shape_by_name():
    good = record("2026-01-01T00:00:00+00:00")
    store = published_store(good)
    bad_kind = json.loads(good.to_bytes())
    bad_kind["packages"][0]["kind"] = "rpm"
    other = "c" * 32
    store.put_json(LAYOUT.record(SPEC, "linux-64", other), json.dumps({**bad_kind, "env_id": None}))
    store.put_json(f"envs/{SPEC}/osx-64/latest.json", "[]")
    store.put_json("envs/aliases/empty/latest.json", json.dumps({"spec_id": SPEC, "envs": []}))
    store.put_json("remote-installers/uv-linux-64.json", json.dumps({"version": "1", "package": {"kind": "x"}}))
    store.put_json("manifests/repo.json", json.dumps({"entries": [1, 2]}))
    report = verify(store, LAYOUT)
    text = "\n".join(report.violations)
    for key in (LAYOUT.record(SPEC, "linux-64", other), f"envs/{SPEC}/osx-64/latest.json",
                "envs/aliases/empty/latest.json", "remote-installers/uv-linux-64.json", "manifests/repo.json"):
        assert key in text, (key, text)
    assert len(report.violations) == 5 and report.records == 1, text


def test_verify_is_clean_on_a_good_store_and_counts_missing_files_once():
    first, second = record("2026-01-01T00:00:00+00:00"), record("2026-01-02T00:00:00+00:00", package(sha="0"),
                                                                  package("extra", sha="1"))
    store = published_store(first, second)
    assert verify(store, LAYOUT).violations == []
    del store.objects[LAYOUT.package(package().key)]
    missing = [v for v in verify(store, LAYOUT).violations if "missing" in v]
    assert len(missing) == 1 and missing[0].startswith(f"{LAYOUT.package(package().key)}: missing, but "
                                                       "environment record envs/")


def test_local_pins_take_concurrent_writers(tmp_path):
    pins, errors = LocalPins(tmp_path / "pins"), []

    def put():
        try:
            for _ in range(50):
                pins.put(record("t"))
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and pins.get(SPEC, "linux-64") == record("t")
    assert not [p for p in (tmp_path / "pins").rglob("*") if p.name.endswith(".tmp")]
