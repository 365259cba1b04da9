"""Settings are read the Metaflow way; bad values are one line naming the variable."""

import json

import pytest
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


@pytest.fixture(scope="module")
def seed_config(tmp_path_factory) -> dict:
    """The seed's own settings module (metaflow-netflixext 1.3.17, from PyPI): NAME -> its
    default as a Python literal, `...` for a computed one, `CONSTANT` for a value it never
    reads from the configuration."""
    import ast
    import os
    import subprocess
    import sys
    import zipfile

    folder = tmp_path_factory.mktemp("seed-wheel")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--dest", str(folder), "metaflow-netflixext==1.3.17"], check=True, capture_output=True,
                   env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    [wheel] = folder.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read("metaflow_extensions/netflixext/config/mfextinit_netflixext.py"))
    defaults = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "from_conf":
            given = value.args[1] if len(value.args) > 1 else ast.Constant(None)
            try:
                defaults[name] = ast.literal_eval(given)
            except ValueError:
                defaults[name] = ...
        elif name.startswith("CONDA_"):
            defaults[name] = ("CONSTANT", ast.literal_eval(value))
    return defaults


def test_the_seed_default_column_is_the_seeds_own_config_module(seed_config):
    options = {option.name: option for option in config.OPTIONS if option.group == config.SEED}
    for name, option in options.items():
        shown = option.seed_default
        if name not in seed_config:
            assert shown and "not a seed setting" in shown, name
            continue
        seed = seed_config[name]
        if isinstance(seed, tuple) and seed[0] == "CONSTANT":
            assert shown and json.dumps(seed[1]) in shown and "not read" in shown, name
        elif seed is ...:
            assert shown, f"{name}: the seed computes its default; say what it is"
        elif shown is None:   # "same": the seed's default is mfci's
            assert seed == option.default or (seed in (None, {}, []) and option.default in (None, {}, [])), name
        else:
            assert ("unset" in shown if seed is None else json.dumps(seed) in shown.replace("`", "") or
                    str(seed) in shown), name
    every = {n for n in seed_config if n.startswith("CONDA_") and not isinstance(seed_config[n], tuple)}
    assert every <= set(options), every - set(options)
