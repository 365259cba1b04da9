"""Environment files resolved for real, for three archs each: pip's forms against PyPI
(through uv), a `conda env export` file with the seed's sections against the conda
channel the tests build (py-rattler, then uv on top), a pyproject's extras and groups.
One resolution per distinct spec; the parsing of every form is in test_unit_envfiles.py."""

import json
import sys

from conftest import mfci, mfci_json

ARCHS = ("linux-64", "osx-64", "osx-arm64")
SIX_URL = ("https://files.pythonhosted.org/packages/d9/5a/e7c31adbe875f2abbb91bd84cf2dc52d792b5a01506781dbcf25c91daf11/"
           "six-1.16.0-py2.py3-none-any.whl")
SIX_SHA = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"


def records(store_root, out):
    return {e["arch"]: json.loads((store_root / "envs" / e["spec_id"] / e["arch"] / f"{e['env_id']}.json").read_text())
            for e in out["envs"]}


def versions(record):
    return {p["name"].lower().replace("_", "-"): p["version"] for p in record["packages"]}


def test_pip_forms_resolve_for_three_archs(tmp_path, store_root):
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "common.txt").write_text("-c ../constraints.txt\nrequests[socks]>=2.31,<3  # extras\n")
    (tmp_path / "constraints.txt").write_text("idna<3.5\n")
    (tmp_path / "requirements.txt").write_text(
        "# the seed's pypi-with-markers.txt, an include, a URL with its hash\n"
        "-r reqs/common.txt\n"
        'importlib-metadata; python_version < "3.8"\n'
        'tomli>=2; python_version >= "3.8"\n'
        f"six @ {SIX_URL}#sha256={SIX_SHA}\n"
        "python>=3.10,<3.12\n")
    done, out = mfci_json("resolve", "-r", "requirements.txt", *[a for arch in ARCHS for a in ("--arch", arch)])
    assert done.returncode == 0, done.stderr
    assert out["python"] == "3.11" and [e["status"] for e in out["envs"]] == ["resolved"] * 3
    for arch, record in records(store_root, out).items():
        found = versions(record)
        assert "importlib-metadata" not in found and "tomli" in found and "pysocks" in found, (arch, found)
        assert found["six"] == "1.16.0" and tuple(map(int, found["idna"].split(".")[:2])) < (3, 5)
        six = next(p for p in record["packages"] if p["name"] == "six")
        assert six["url"] == SIX_URL and six["sha256"] == SIX_SHA


def test_a_conda_env_export_with_the_seeds_sections_resolves_for_three_archs(tmp_path, store_root, conda_channel):
    python = "%d.%d.%d" % sys.version_info[:3]
    (tmp_path / "environment.yml").write_text(f"""\
name: exported
channels:
  - {conda_channel.as_uri()}
  - nodefaults
dependencies:
  - python={python}=0_venvwrap
  - native-tool=1.0=h0_0
  - six=1.17.0=py_0
  - sys:
    - __glibc=2.28
  - pip:
    - pyyaml = 6.0.2
prefix: /opt/conda/envs/exported
""")
    done, out = mfci_json("resolve", "-f", "environment.yml", *[a for arch in ARCHS for a in ("--arch", arch)],
                          "--alias", "team/exported:v1")
    assert done.returncode == 0, done.stderr
    assert out["python"] == python and out["aliases"] == ["team/exported:v1"]
    for arch, record in records(store_root, out).items():
        kinds = {(p["name"], p["kind"]) for p in record["packages"]}
        assert {("native-tool", "conda"), ("six", "conda"), ("pyyaml", "pypi")} <= kinds, arch
        native = next(p for p in record["packages"] if p["name"] == "native-tool")
        assert f"/{arch}/native-tool-1.0-h0_0.conda" in native["url"]
        assert record["spec"]["system"].get("__glibc") == ("2.28" if arch == "linux-64" else None)
    lookup, found = mfci_json("lookup", "--alias", "team/exported:v1", "--arch", "osx-arm64")
    assert lookup.returncode == 0 and any("macosx" in p["url"] for p in found["packages"] if p["kind"] == "pypi")


def test_a_pyprojects_extras_and_groups_resolve_for_three_archs(tmp_path, store_root):
    (tmp_path / "pyproject.toml").write_text("""\
[project]
name = "analysis"
requires-python = ">=3.10"
dependencies = ["six>=1.16"]
[project.optional-dependencies]
yaml = ["pyyaml>=6"]
all = ["analysis[yaml]", "tomli>=2"]
[dependency-groups]
lint = ["packaging>=24"]
""")
    args = [a for arch in ARCHS for a in ("--arch", arch)]
    done, out = mfci_json("resolve", "-p", "pyproject.toml", "--extra", "all", "--group", "lint", *args)
    assert done.returncode == 0, done.stderr
    for arch, record in records(store_root, out).items():
        assert {"six", "pyyaml", "tomli", "packaging"} <= set(versions(record)), arch
    plain = mfci("resolve", "-p", "pyproject.toml", "--extra", "nope", "--arch", "linux-64")
    assert plain.returncode == 2 and "no optional dependencies 'nope' (extras: all, yaml)" in plain.stderr
