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
