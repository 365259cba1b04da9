"""An index configured the way uv and pip users configure it — pip.conf, uv.toml, their
environment variables, netrc, a keyring — or named in an environment file, and a channel
in conda's own .condarc, is used for resolution and for every download, with the same
credentials (the seed's CONDA_SRCS_AUTH_INFO included); a private index never falls back
to public PyPI; and no secret reaches an id, a record or a log."""

import json
import os
import stat

import pytest
from conftest import mfci_json, serve, simple_index, two_step_flow

PASSWORD = "idx-pw-3141"
TOKEN = "tk-2718-chan"


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


def file_with_index(how: str, url: str, tmp_path) -> tuple[list[str], dict]:
    """An environment file that names the private index itself, and the environment of a
    user whose credentials for it live where `how` says."""
    plain = f"{url}/simple"
    if how == "requirements.txt, user:password in the URL":
        (tmp_path / "requirements.txt").write_text(
            f"--extra-index-url {plain.replace('http://', f'http://ci:{PASSWORD}@')}\nsix==1.16.0\n")
        return ["-r", "requirements.txt"], {}
    if how == "requirements.txt, ${VARIABLE} in the URL":
        (tmp_path / "requirements.txt").write_text(
            f"--extra-index-url {plain.replace('http://', 'http://ci:${INDEX_PASSWORD}@')}\nsix==1.16.0\n")
        return ["-r", "requirements.txt"], {"INDEX_PASSWORD": PASSWORD}
    if how == "environment.yml pypi-indices, netrc":
        (tmp_path / "netrc").write_text(f"machine 127.0.0.1 login ci password {PASSWORD}\n")
        (tmp_path / "environment.yml").write_text(f"pypi-indices:\n  - {plain}\ndependencies:\n  - pip:\n"
                                                  "    - six==1.16.0\n")
        return ["-f", "environment.yml"], {"NETRC": str(tmp_path / "netrc")}
    if how == "pyproject [tool.uv.sources] index, CONDA_SRCS_AUTH_INFO":
        (tmp_path / "pyproject.toml").write_text(
            '[project]\nname = "x"\ndependencies = ["six==1.16.0"]\n[tool.uv.sources]\nsix = { index = "private" }\n'
            f'[[tool.uv.index]]\nname = "private"\nurl = "{plain}"\nexplicit = true\n')
        return ["-p", "pyproject.toml"], {"METAFLOW_CONDA_SRCS_AUTH_INFO": json.dumps({"127.0.0.1": ["ci", PASSWORD]})}
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["requirements.txt, user:password in the URL", "requirements.txt, ${VARIABLE} in the URL",
                                 "environment.yml pypi-indices, netrc",
                                 "pyproject [tool.uv.sources] index, CONDA_SRCS_AUTH_INFO"])
def test_an_index_an_environment_file_names_authenticates_resolution_and_downloads(how, tmp_path, index_files,
                                                                                    store_root):
    seen = []
    with serve(index_files, credentials=f"ci:{PASSWORD}", seen=seen) as url:
        args, env = file_with_index(how, url, tmp_path)
        done, out = mfci_json("resolve", *args, "--arch", "linux-64", env=env)
    assert done.returncode == 0, done.stderr
    assert any(path.startswith("/simple/six") for path, auth in seen if auth)        # resolution, authenticated
    assert any(path.startswith("/files/six") for path, auth in seen if auth)         # the download, authenticated
    record = json.loads((store_root / "envs" / out["envs"][0]["spec_id"] / "linux-64" /
                         f"{out['envs'][0]['env_id']}.json").read_text())
    assert [p["url"] for p in record["packages"] if p["kind"] == "pypi"] == [f"{url}/files/six-1.16.0-py2.py3-none-any.whl"]
    assert record["spec"]["pypi_options"]                       # the file's index is part of its spec...
    assert PASSWORD not in done.stdout + done.stderr            # ...but never its secret
    assert all(PASSWORD not in p.read_text() for p in store_root.rglob("*.json"))


def condarc_with(how: str, url: str, tmp_path) -> tuple[dict, str]:
    """conda's own configuration naming the test channel, and the channel as specs name it."""
    condarc = tmp_path / "condarc"
    if how == "channel_alias with a token":
        condarc.write_text(f"channels:\n  - team\nchannel_alias: {url}/t/{TOKEN}\n")
        return {"CONDARC": str(condarc)}, "team"
    condarc.write_text(f"channels:\n  - {url}\n")
    return {"CONDARC": str(condarc), "METAFLOW_CONDA_SRCS_AUTH_INFO": json.dumps({"127.0.0.1": ["ci", PASSWORD]})}, url


@pytest.mark.parametrize("how", ["channel_alias with a token", "a channel URL, CONDA_SRCS_AUTH_INFO"])
def test_a_condarc_channel_serves_resolution_and_downloads(how, tmp_path, store_root, conda_channel):
    served = tmp_path / "served"
    served.mkdir()
    (served / "team").symlink_to(conda_channel)
    two_step_flow(tmp_path / "flows", "rc_flow", "RcFlow", start='@conda(packages={"native-tool": ""})')
    seen = []
    token = how.startswith("channel_alias")
    with serve(served / "team" if not token else served, None if token else f"ci:{PASSWORD}",
               prefix=f"/t/{TOKEN}" if token else "", seen=seen) as url:
        env, channel = condarc_with(how, url, tmp_path)
        done, out = mfci_json("warm", "flows", "--arch", "linux-64", env=env)
    assert done.returncode == 0, done.stderr
    start = next(e for e in out["envs"] if e["step"] == "start")
    record = json.loads((store_root / "envs" / start["spec_id"] / "linux-64" / f"{start['env_id']}.json").read_text())
    assert record["spec"]["channels"] == [channel]
    native = next(p for p in record["packages"] if p["name"] == "native-tool")
    where = f"{url}/team" if token else url
    assert native["url"] == f"{where}/linux-64/native-tool-1.0-h0_0.conda"
    fetched = [path for path, auth in seen if path.endswith("native-tool-1.0-h0_0.conda")]
    assert fetched and all(path.startswith(f"/t/{TOKEN}/team/") for path in fetched) if token else fetched
    assert all(auth for _, auth in seen) if not token else True
    secret = TOKEN if token else PASSWORD
    assert secret not in done.stdout + done.stderr
    assert all(secret not in p.read_text() for p in store_root.rglob("*.json"))
