"""The local store: create-only immutables, compare-and-swap pointers, safe keys."""

import threading

import pytest
from store_contract import (
    check_create_only_and_compare_and_swap,
    check_delete_and_entries,
)

from mfci.publish import update_object
from mfci.store import open_store


def update_json(store, key, change):
    return update_object(store, key, lambda data: data, change)


def test_create_only_and_compare_and_swap(tmp_path):
    check_create_only_and_compare_and_swap(open_store((tmp_path / "s").as_uri()))


def test_delete_and_listing_with_times(tmp_path):
    check_delete_and_entries(open_store(str(tmp_path / "s")))


def test_concurrent_updates_lose_nothing(tmp_path):
    store = open_store(str(tmp_path / "s"))

    def add(n):
        update_json(store, "m.json", lambda old: {**(old or {}), str(n): n})

    threads = [threading.Thread(target=add, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    import json

    assert len(json.loads(store.read("m.json"))) == 16


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../../b", "a//b", "a/\x01b"])
def test_unsafe_keys_are_refused(tmp_path, key):
    store = open_store(str(tmp_path / "s"))
    with pytest.raises(ValueError):
        store.create(key, b"x")


def test_listing_skips_staging_files(tmp_path):
    store = open_store(str(tmp_path / "s"))
    store.create("envs/x.json", b"{}")
    (tmp_path / "s" / "envs" / ".tmp-123").write_text("partial")
    assert list(store.list("envs")) == ["envs/x.json"]


def test_long_transfers_report_progress(tmp_path):
    import hashlib

    from mfci.cache import LONG_TRANSFER_BYTES, LocalPackages, PackageCache
    from mfci.io.http import Downloader
    from mfci.layout import Layout
    from mfci.record import PackageFile

    big = tmp_path / "big-1.0-py3-none-any.whl"
    big.write_bytes(b"x" * (LONG_TRANSFER_BYTES + 1))
    package = PackageFile("big", "1.0", "pypi", big.as_uri(), big.name,
                          hashlib.sha256(big.read_bytes()).hexdigest(), big.stat().st_size, "pypi/local/big.whl")
    lines = []
    store = open_store(str(tmp_path / "s"))
    local = Downloader(allow_local_files=True)
    PackageCache(store, Layout(), LocalPackages(tmp_path / "one"), local, note=lines.append).store_one(package)
    PackageCache(store, Layout(), LocalPackages(tmp_path / "two"), local, note=lines.append).fetch(package)
    assert [line.split()[0] for line in lines] == ["uploading", "uploaded", "downloading", "downloaded"]
    assert all(big.name in line for line in lines) and "MB/s" in lines[1]
