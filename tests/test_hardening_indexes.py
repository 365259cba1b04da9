"""An index configured the way uv and pip users configure it — pip.conf, uv.toml, their
environment variables, netrc, a keyring — is used for resolution and for every download,
with the same credentials; and a private index never falls back to public PyPI."""

import os
import stat

import pytest
from conftest import mfci_json, serve, simple_index

PASSWORD = "idx-pw-3141"


@pytest.fixture(scope="module")
def index_files(tmp_path_factory, index_wheels):
    return simple_index(tmp_path_factory.mktemp("index"), index_wheels)


def configure(how: str, url: str, tmp_path) -> dict:
    """The environment of a user who configured the private index `how`."""
    with_password = url.replace("http://", f"http://ci:{PASSWORD}@") + "/simple"
    if how == "pip.conf":
        (tmp_path / "pip.conf").write_text(f"[global]\nindex-url = {with_password}\n")
        return {"PIP_CONFIG_FILE": str(tmp_path / "pip.conf")}
    if how == "uv.toml":
        (tmp_path / "uv.toml").write_text(f'[[index]]\nurl = "{with_password}"\ndefault = true\n')
        return {"UV_CONFIG_FILE": str(tmp_path / "uv.toml"), "UV_NO_CONFIG": "0"}
    if how == "UV_INDEX_URL":
        return {"UV_INDEX_URL": with_password}
    if how == "PIP_INDEX_URL":
        return {"PIP_INDEX_URL": with_password}
    if how == "netrc":
        (tmp_path / "netrc").write_text(f"machine 127.0.0.1 login ci password {PASSWORD}\n")
        (tmp_path / "pip.conf").write_text(f"[global]\nindex-url = {url}/simple\n")
        return {"PIP_CONFIG_FILE": str(tmp_path / "pip.conf"), "NETRC": str(tmp_path / "netrc")}
    if how == "keyring":  # uv's subprocess keyring provider: `keyring get <url> <user>`
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        keyring = bin_dir / "keyring"
        keyring.write_text(f"#!/bin/sh\n[ \"$1\" = get ] && [ \"$3\" = ci ] && echo {PASSWORD}\n")
        keyring.chmod(keyring.stat().st_mode | stat.S_IXUSR)
        return {"UV_INDEX_URL": url.replace("http://", "http://ci@") + "/simple", "UV_KEYRING_PROVIDER": "subprocess",
                "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["pip.conf", "uv.toml", "UV_INDEX_URL", "PIP_INDEX_URL", "netrc", "keyring"])
def test_the_configured_index_serves_resolution_and_downloads(how, tmp_path, index_files, store_root):
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    seen = []
    with serve(index_files, credentials=f"ci:{PASSWORD}", seen=seen) as url:
        env = {**configure(how, url, tmp_path), "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
        done, out = mfci_json("resolve", "-r", "requirements.txt", "--arch", "linux-64", env=env)
    assert done.returncode == 0, done.stderr
    assert [e["status"] for e in out["envs"]] == ["resolved"]
    downloads = [path for path, auth in seen if path.startswith("/files/six") and auth]
    assert downloads, seen                                   # mfci fetched the wheel itself, authenticated
    assert PASSWORD not in done.stdout + done.stderr
    for record in store_root.rglob("*.json"):
        assert PASSWORD not in record.read_text()
        if "/envs/" in str(record) and record.stem not in ("latest",) and "users" not in str(record):
            assert "pypi.org" not in record.read_text() and "pythonhosted" not in record.read_text()


def test_a_private_index_in_pip_conf_never_falls_back_to_pypi(tmp_path, index_files):
    (tmp_path / "requirements.txt").write_text("six==1.16.0\nrequests==2.32.3\n")  # requests: only on PyPI
    with serve(index_files, credentials=f"ci:{PASSWORD}") as url:
        env = configure("pip.conf", url, tmp_path)
        done, out = mfci_json("resolve", "-r", "requirements.txt", "--arch", "linux-64", env=env)
    assert done.returncode == 1
    assert "requests" in out["errors"][0]["message"] and PASSWORD not in done.stderr
