"""The local store on filesystems that are not plain local disks: no hard links (NFS, FUSE,
SMB), symbolic links inside the root, failures that must leave nothing behind."""

import errno
import os
import threading

import pytest

from mfci.errors import WorkError
from mfci.store.local import LocalStore


def test_create_only_holds_without_hard_links(tmp_path, monkeypatch):
    def no_links(*_):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store = LocalStore(tmp_path / "store")
    wins = []

    def create(n):
        wins.append(store.create("envs/s/linux-64/record.json", f"{n}".encode()))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert wins.count(True) == 1 and wins.count(False) == 7
    assert store.read("envs/s/linux-64/record.json") in {f"{n}".encode() for n in range(8)}
    assert not [p for p in (tmp_path / "store").rglob(".tmp-*")]


def test_a_symlink_leading_out_of_the_root_is_refused_by_name(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "packages").symlink_to(outside, target_is_directory=True)
    store = LocalStore(tmp_path / "store")
    with pytest.raises(WorkError, match="packages/pypi/h/six.whl leads outside the store root"):
        store.create("packages/pypi/h/six.whl", b"x")
    assert list(outside.iterdir()) == []


def test_a_failed_write_leaves_no_staging_file(tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "store")

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", full)
    with pytest.raises(WorkError, match=r"cannot write file://.*/envs/x.json: No space left on device"):
        store.create("envs/x.json", b"{}")
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
