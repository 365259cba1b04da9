"""What every store backend promises, checked the same way on each."""

import pytest

from mfci.store import VersionConflict


def check_create_only_and_compare_and_swap(store) -> None:
    assert store.create("envs/a/record.json", b"one") is True
    assert store.create("envs/a/record.json", b"two") is False
    assert store.read("envs/a/record.json") == b"one"
    assert store.exists("envs/a/record.json") and not store.exists("envs/a/other.json")
    assert store.read_versioned("envs/a/missing.json") is None

    store.replace("envs/a/latest.json", b"1", None)
    with pytest.raises(VersionConflict):
        store.replace("envs/a/latest.json", b"2", None)
    version = store.read_versioned("envs/a/latest.json").version
    store.replace("envs/a/latest.json", b"2", version)
    with pytest.raises(VersionConflict):
        store.replace("envs/a/latest.json", b"3", version)
    assert store.read("envs/a/latest.json") == b"2"
    assert list(store.list("envs")) == ["envs/a/latest.json", "envs/a/record.json"]


def check_delete_and_entries(store) -> None:
    """Listing with sizes and times, and deleting (gc's two needs); deleting what is gone is no error."""
    from datetime import datetime, timedelta, timezone

    before = datetime.now(timezone.utc) - timedelta(minutes=5)  # emulator and machine clocks may differ a little
    store.create("packages/pypi/h/a.whl", b"12345")
    store.create("packages/pypi/h/b.whl", b"1")
    entries = {entry.key: entry for entry in store.entries("packages")}
    assert sorted(entries) == ["packages/pypi/h/a.whl", "packages/pypi/h/b.whl"]
    assert entries["packages/pypi/h/a.whl"].size == 5
    assert all(entry.modified.tzinfo and entry.modified > before for entry in entries.values())
    store.delete("packages/pypi/h/a.whl")
    store.delete("packages/pypi/h/a.whl")
    store.delete("packages/pypi/h/never.whl")
    assert not store.exists("packages/pypi/h/a.whl")
    assert list(store.list("packages")) == ["packages/pypi/h/b.whl"]
    assert store.create("packages/pypi/h/a.whl", b"again") is True  # a deleted key can be written anew
    assert store.object_url("packages/pypi/h/a.whl").endswith("/packages/pypi/h/a.whl")
