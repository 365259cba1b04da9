"""Settings are read the Metaflow way; bad values are one line naming the variable."""

import json

from conftest import REPO, mfci, settings

from mfci import config


def test_profile_file_is_read(tmp_path, monkeypatch):
    (tmp_path / "metaflow-home" / "config_team.json").write_text(
        json.dumps({"METAFLOW_CONDA_USE_REMOTE_LATEST": "alice,bob"}))
    monkeypatch.setenv("METAFLOW_PROFILE", "team")
    assert settings()["CONDA_USE_REMOTE_LATEST"] == "alice,bob"


def test_environment_beats_profile(tmp_path, monkeypatch):
    (tmp_path / "metaflow-home" / "config.json").write_text(json.dumps({"METAFLOW_CONDA_LOCK_TIMEOUT": "10"}))
    monkeypatch.setenv("METAFLOW_CONDA_LOCK_TIMEOUT", "20")
    assert settings()["CONDA_LOCK_TIMEOUT"] == 20


def test_sys_packages_merge_over_defaults(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", '{"linux-64": {"__glibc": "2.31"}}')
    packages = settings().system_packages
    assert packages["linux-64"] == {"__glibc": "2.31", "__unix": "0"} and packages["osx-arm64"] == {"__osx": "13.0", "__unix": "0"}


def test_malformed_values_exit_2_naming_the_variable(tmp_path):
    for variable, value in [("METAFLOW_CONDA_LOCK_TIMEOUT", "soon"),
                            ("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", "{not json"),
                            ("METAFLOW_CONDA_PYPI_DEPENDENCY_RESOLVER", "poetry")]:
        done = mfci("warm", str(tmp_path), env={variable: value})
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and variable in lines[0] and "Traceback" not in done.stderr


def test_readme_table_matches_the_options():
    readme = (REPO / "README.md").read_text()
    assert config.markdown_table() in readme, "regenerate README's table with `mfci config --markdown`"
