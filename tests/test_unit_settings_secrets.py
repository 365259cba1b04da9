"""Fast unit layer: settings read once and checked, secrets found and scrubbed everywhere,
credentials chosen per URL, indexes read from where uv and pip users configure them."""

import base64
import json
import os

import pytest

from mfci.auth import Credentials
from mfci.config import Settings
from mfci.errors import UsageError
from mfci.indexes import PYPI, index_config
from mfci.secrets import mask, register, scrub, scrub_text, secrets_in_url
from mfci.spec import SpecInputs, StepRequirement, build_spec

TOKEN = "ab-1234-cdef-5678"


@pytest.mark.parametrize("url,public", [
    (f"https://conda.anaconda.org/t/{TOKEN}/my-channel", "https://conda.anaconda.org/my-channel"),
    (f"https://conda.anaconda.org/t/{TOKEN}/my-channel/linux-64/x-1-0.conda",
     "https://conda.anaconda.org/my-channel/linux-64/x-1-0.conda"),
    ("https://user:pa55word@pypi.example.com/simple", "https://pypi.example.com/simple"),
    ("https://repo.example.com/chan?token=s3cr3t&x=1", "https://repo.example.com/chan?x=1"),
    ("https://files.pythonhosted.org/packages/source/t/tqdm/tqdm-4.0.tar.gz",
     "https://files.pythonhosted.org/packages/source/t/tqdm/tqdm-4.0.tar.gz"),   # /t/ deeper is no token
])
def test_every_kind_of_url_secret_is_scrubbed(url, public):
    assert scrub(url) == public
    for secret in secrets_in_url(url):
        assert secret not in scrub(url) and secret not in mask(url)


def test_a_rotated_channel_token_leaves_the_spec_id_unchanged():
    def spec_for(token):
        inputs = SpecInputs("3.11", {}, {}, channels=(f"https://conda.anaconda.org/t/{token}/team",))
        return build_spec(StepRequirement("f", "F", "s", conda={"numpy": "1.26"}), inputs, "linux-64")

    one, two = spec_for("tok-one-1111"), spec_for("tok-two-2222")
    assert one.spec_id == two.spec_id and one.channels == ("https://conda.anaconda.org/team",)


def test_scrub_text_removes_registered_secrets_and_url_credentials():
    register("hunter2-very-secret")
    text = "failed: https://bob:hunter2-very-secret@idx/simple said no; key hunter2-very-secret"
    assert "hunter2" not in scrub_text(text) and "https://idx/simple" in scrub_text(text)


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_credentials_are_chosen_per_url_and_never_cross_hosts(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine netrc.example.com login nu password np\n")
    credentials = Credentials.of([f"https://conda.anaconda.org/t/{TOKEN}/team",
                                  "https://u:p@private.example.com/simple"], str(netrc))
    # a token channel: fetched under its configured URL again
    assert credentials.request("https://conda.anaconda.org/team/noarch/x-1-0.conda") == (
        f"https://conda.anaconda.org/t/{TOKEN}/team/noarch/x-1-0.conda", {})
    # an index's files on the same host, another path: the index's credentials
    assert credentials.request("https://private.example.com/files/a.whl") == (
        "https://private.example.com/files/a.whl", basic("u", "p"))
    assert credentials.request("https://netrc.example.com/a.whl")[1] == basic("nu", "np")
    assert credentials.request("https://cdn.example.net/a.whl") == ("https://cdn.example.net/a.whl", {})


def test_index_configuration_is_read_where_users_put_it(tmp_path):
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nindex-url = https://u:p@pip.example.com/simple\n"
                        "extra-index-url = https://extra.example.com/simple\n")
    from_pip = index_config({"PIP_CONFIG_FILE": str(pip_conf)}, tmp_path, None)
    assert from_pip.default == "https://u:p@pip.example.com/simple" and from_pip.best_match
    assert from_pip.extra == ("https://extra.example.com/simple",) and from_pip.origin == str(pip_conf)

    (tmp_path / "uv.toml").write_text('[[index]]\nurl = "https://uv.example.com/simple"\ndefault = true\n')
    from_uv = index_config({"PIP_CONFIG_FILE": str(pip_conf), "HOME": str(tmp_path)}, tmp_path, None)
    assert from_uv.default == "https://uv.example.com/simple" and not from_uv.best_match   # uv's wins

    environ = {"UV_INDEX_URL": "https://env.example.com/simple", "PIP_CONFIG_FILE": os.devnull}
    assert index_config(environ, tmp_path / "nowhere", None).default == "https://env.example.com/simple"
    assert index_config({"PIP_INDEX_URL": "https://p.example.com/simple", "PIP_CONFIG_FILE": os.devnull,
                         "UV_NO_CONFIG": "1"}, tmp_path, None).default == "https://p.example.com/simple"
    seed = index_config(environ, tmp_path, "https://seed.example.com/simple")
    assert seed.default == "https://seed.example.com/simple" and seed.origin == "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE"
    assert index_config({"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1"}, tmp_path, None).default == PYPI
    # what uv is given: the same indexes, credentials in its environment, never in its argv
    assert from_pip.uv_environment()["UV_DEFAULT_INDEX"] == "https://u:p@pip.example.com/simple"


def settings(**environ) -> Settings:
    return Settings.load({"METAFLOW_HOME": "/nonexistent", **environ})


@pytest.mark.parametrize("variable,value", [
    ("METAFLOW_CONDA_MFCI_PYTHON", "3"), ("METAFLOW_CONDA_MFCI_PYTHON", "three"),
    ("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", '{"linux-64": "2.27"}'),
    ("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", '{"linux-64": {"__glibc": "new"}}'),
    ("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", '{"win-64": {"__win": "1"}}'),
    ("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", '{"linux-64": {"glibc": "2.27"}}'),
    ("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", '["__cuda"]'),
    ("METAFLOW_CONDA_PACKAGES_DIRNAME", "../outside"), ("METAFLOW_CONDA_ENVS_DIRNAME", "/abs"),
    ("METAFLOW_CONDA_REMOTE_INSTALLER_DIRNAME", "a/../../b"),
    ("METAFLOW_CONDA_USE_REMOTE_LATEST", ":user:"), ("METAFLOW_CONDA_USE_REMOTE_LATEST", "alice,,bob"),
    ("METAFLOW_CONDA_USE_REMOTE_LATEST", "../evil"), ("METAFLOW_USER", "../evil"), ("METAFLOW_USER", "a/b"),
    ("METAFLOW_CONDA_ALL_ARCHS", "linux-64,win-64"), ("METAFLOW_DEFAULT_DATASTORE", "hdfs"),
    ("METAFLOW_CONDA_MFCI_STORE_TIMEOUT", "-1"),
])
def test_a_bad_setting_names_its_variable(variable, value):
    with pytest.raises(UsageError) as failed:
        settings(**{variable: value})
    assert str(failed.value).startswith(f"{variable}=") and "\n" not in str(failed.value)


def test_settings_merge_system_packages_per_arch_and_keep_the_profile(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"METAFLOW_CONDA_LOCK_TIMEOUT": "10",
                                                      "METAFLOW_SERVICE_AUTH_KEY": "svc-key-123"}))
    loaded = Settings.load({"METAFLOW_HOME": str(tmp_path),
                            "METAFLOW_CONDA_SYS_DEFAULT_PACKAGES": '{"linux-64": {"__glibc": "2.31"}}'})
    assert loaded["CONDA_LOCK_TIMEOUT"] == 10
    assert loaded.system_packages["linux-64"] == {"__glibc": "2.31", "__unix": "0"}
    assert loaded.system_packages["osx-arm64"] == {"__osx": "13.0", "__unix": "0"}
    assert loaded.metaflow_files["METAFLOW_SERVICE_AUTH_KEY"] == "svc-key-123"


def test_shown_settings_mask_every_secret():
    loaded = settings(METAFLOW_CONDA_DEFAULT_PYPI_SOURCE="https://me:topsecret@idx.example.com/simple",
                      METAFLOW_CONDA_CHANNELS=f"https://conda.anaconda.org/t/{TOKEN}/team")
    shown = "\n".join(f"{k}={v}" for k, v in loaded.shown())
    assert "topsecret" not in shown and TOKEN not in shown and "idx.example.com" in shown


def test_discovery_sees_no_credential(tmp_path):
    from mfci.discover import flow_environment

    (tmp_path / "config.json").write_text(json.dumps({"METAFLOW_SERVICE_AUTH_KEY": "svc-key-123",
                                                      "METAFLOW_SERVICE_HEADERS": {"x-api-key": "hdr-456"}}))
    loaded = Settings.load({"METAFLOW_HOME": str(tmp_path), "AWS_SECRET_ACCESS_KEY": "aws-789", "PATH": "/bin",
                            "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": "https://me:pw-000@idx.example.com/simple",
                            "PIP_INDEX_URL": "https://me:pw-111@idx.example.com/simple",
                            "GITHUB_TOKEN": "ghp-222", "MY_DB_PASSWORD": "db-333"})
    environment = flow_environment(loaded)
    text = json.dumps(environment)
    for secret in ("svc-key-123", "hdr-456", "aws-789", "pw-000", "pw-111", "ghp-222", "db-333"):
        assert secret not in text
    assert environment["METAFLOW_SERVICE_AUTH_KEY"] == "" and environment["METAFLOW_SERVICE_HEADERS"] == "{}"
    assert environment["METAFLOW_CONDA_DEFAULT_PYPI_SOURCE"] == "https://idx.example.com/simple"
    assert environment["PATH"] == "/bin"
