"""S3, GCS and Azure stores against real emulators: the store's promises, retries,
and the one-line failures (missing bucket, bad credentials, missing SDK)."""

import json
import os
import sys
import threading

import pytest
from conftest import emulators, mfci, settings
from store_contract import (
    check_create_only_and_compare_and_swap,
    check_delete_and_entries,
)

from mfci.errors import UsageError, WorkError
from mfci.publish import update_object
from mfci.store import open_store


def update_json(store, key, change):
    return update_object(store, key, lambda data: data, change)


def default_root(datastore=None):
    return settings().store_root(datastore)


def test_create_only_and_compare_and_swap(cloud):
    store = settings().open_store()
    assert store.url == cloud.root
    check_create_only_and_compare_and_swap(store)


def test_delete_and_listing_with_times(cloud):
    check_delete_and_entries(settings().open_store())


def test_large_files_go_in_parts_and_come_back_whole(cloud, tmp_path):
    store = settings().open_store()
    big = tmp_path / "big.whl"
    big.write_bytes(os.urandom(9 << 20) + b"end")  # over the multipart threshold
    assert store.create_from_file("packages/pypi/h/big.whl", big) is True
    if cloud.name != "gs":  # fake-gcs-server ignores ifGenerationMatch on resumable uploads
        assert store.create_from_file("packages/pypi/h/big.whl", big) is False
    copy = tmp_path / "copy.whl"
    store.download("packages/pypi/h/big.whl", copy)
    assert copy.read_bytes() == big.read_bytes()


def test_a_conflicting_pointer_update_is_retried_to_success(cloud):
    store = settings().open_store()
    store.replace("envs/s/linux-64/latest.json", json.dumps({"env_id": "old"}).encode(), None)
    calls = []

    def change(old):
        calls.append(old["env_id"])
        if len(calls) == 1:  # another publisher writes between our read and our write
            current = store.read_versioned("envs/s/linux-64/latest.json")
            store.replace("envs/s/linux-64/latest.json", json.dumps({"env_id": "theirs"}).encode(),
                          current.version)
        return {"env_id": "ours", "seen": old["env_id"]}

    assert update_json(store, "envs/s/linux-64/latest.json", change) == {"env_id": "ours", "seen": "theirs"}
    assert calls == ["old", "theirs"]


def test_concurrent_manifest_updates_lose_nothing(cloud):
    store = settings().open_store()
    threads = [threading.Thread(target=update_json, args=(store, "manifests/repo.json",
                                                          lambda old, n=n: {**(old or {}), str(n): n}))
               for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(json.loads(store.read("manifests/repo.json"))) == 12


def test_transient_failures_are_retried(cloud, monkeypatch, tmp_path):
    with emulators.FaultyProxy(cloud.endpoint, every=2) as proxy:
        for name, value in cloud.client_env(proxy.url).items():
            monkeypatch.setenv(name, value)
        store = settings().open_store()
        assert store.create("envs/x/record.json", b"{}") is True
        update_json(store, "envs/x/latest.json", lambda old: {"env_id": "x"})
        assert store.read("envs/x/record.json") == b"{}"
        assert json.loads(store.read("envs/x/latest.json")) == {"env_id": "x"}
        assert store.exists("envs/x/record.json")
        store.download("envs/x/record.json", tmp_path / "copy")
        assert list(store.list("envs")) == ["envs/x/latest.json", "envs/x/record.json"]
        assert proxy.injected >= 3


def test_final_failure_is_one_line_naming_the_object(cloud, monkeypatch):
    from mfci.store import azure, gcs, s3

    for backend in (s3, azure, gcs):
        monkeypatch.setattr(backend, "ATTEMPTS", 2)
    monkeypatch.setenv("METAFLOW_CONDA_MFCI_STORE_TIMEOUT", "2")
    with emulators.FaultyProxy(cloud.endpoint, every=1) as proxy:
        for name, value in cloud.client_env(proxy.url).items():
            monkeypatch.setenv(name, value)
        with pytest.raises(WorkError) as failed:
            settings().open_store().read("envs/x/latest.json")
    message = str(failed.value)
    assert f"{cloud.root}/envs/x/latest.json" in message and "\n" not in message
    assert proxy.injected >= 2


def test_a_missing_bucket_exits_2_naming_it(cloud_empty, tmp_path):
    from conftest import two_step_flow

    two_step_flow(tmp_path / "flows", "nobucket_flow", "NoBucketFlow", base='@pypi_base(packages={"six": "1.16.0"})')
    for command in (["warm", "flows", "--arch", "linux-64"], ["show"]):
        done = mfci(*command)
        assert done.returncode == 2, done.stderr
        assert cloud_empty.bucket in done.stderr and "never creates" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("backend", ["s3", "gs", "azure"])
def test_bad_credentials_are_one_clear_line(backend, tmp_path, request):
    env = {"METAFLOW_DEFAULT_DATASTORE": backend, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    if backend == "s3":  # no credentials anywhere in the AWS chain
        env.update({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"})
        strip = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    elif backend == "gs":  # a credentials file that is not one
        (tmp_path / "key.json").write_text('{"type": "service_account"}')
        env["GOOGLE_APPLICATION_CREDENTIALS"] = str(tmp_path / "key.json")
        strip = ("STORAGE_EMULATOR_HOST",)
    else:  # Azurite's account with the wrong key: the emulator refuses the signature
        endpoint = request.getfixturevalue("azure_endpoint")
        env["AZURE_STORAGE_CONNECTION_STRING"] = emulators.azurite_connection_string(
            endpoint, key="AAAA" + emulators.AZURITE_KEY[4:])
        strip = ()
    clean = {k: v for k, v in os.environ.items() if k not in strip}
    done = mfci("show", "--root", f"{backend}://some-bucket/mfci", env={**clean, **env})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mfci: error:") and "some-bucket" in lines[0], done.stderr
    assert "credentials" in lines[0]


def test_a_missing_sdk_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(UsageError, match=r"pip install 'mfci\[s3\]'"):
        open_store("s3://bucket/prefix")


def test_roots_follow_metaflow_datastore(monkeypatch):
    monkeypatch.setenv("METAFLOW_DEFAULT_DATASTORE", "s3")
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://team/metaflow/")
    assert default_root() == "s3://team/metaflow/mfci"
    monkeypatch.setenv("METAFLOW_CONDA_S3ROOT", "s3://team/conda")
    assert default_root() == "s3://team/conda/mfci"  # the seed's root: mfci keeps to its own folder
    monkeypatch.setenv("METAFLOW_CONDA_GSROOT", "gs://other/envs/")
    assert default_root("gs") == "gs://other/envs/mfci"
    with pytest.raises(UsageError, match="METAFLOW_CONDA_AZUREROOT"):
        default_root("azure")
    monkeypatch.setenv("METAFLOW_DEFAULT_DATASTORE", "local")
    assert default_root().endswith("store/mfci")  # conftest's CONDA_LOCALROOT
