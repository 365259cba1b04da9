"""A requirement with only a source distribution: built here, used where the wheel fits."""

import subprocess
import textwrap

from conftest import mfci_json, serve, simple_index

from mfci.arch import current_arch
from mfci.io.process import uv_binary


def test_native_sdist_builds_for_this_arch_only(tmp_path):
    source = tmp_path / "cext"
    source.mkdir()
    (source / "setup.py").write_text(textwrap.dedent("""
        from setuptools import Extension, setup
        setup(name="cext-demo", version="1.0", ext_modules=[Extension("cext_demo", ["cext_demo.c"])])
    """))
    (source / "cext_demo.c").write_text(
        '#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "cext_demo", NULL, -1, NULL};\n'
        "PyMODINIT_FUNC PyInit_cext_demo(void) { return PyModule_Create(&m); }\n")
    (source / "MANIFEST.in").write_text("include cext_demo.c\n")
    subprocess.run([uv_binary(), "build", "--sdist", "--quiet", "--out-dir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True)
    index = simple_index(tmp_path / "index", list((tmp_path / "dist").glob("*.tar.gz")))
    (tmp_path / "requirements.txt").write_text("cext-demo==1.0\n")
    here, foreign = current_arch(), "osx-arm64"
    with serve(index) as url:
        done, out = mfci_json("resolve", "-r", "requirements.txt", "--arch", here, "--arch", foreign,
                              env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": f"{url}/simple",
                                   "UV_INDEX": "https://pypi.org/simple"})  # build backends
    assert done.returncode == 1
    status = {e["arch"]: e["status"] for e in out["envs"]}
    assert status == {here: "resolved", foreign: "failed"}, out["errors"]
    message = out["errors"][0]["message"]
    assert foreign in message and "source distribution" in message and "cannot run" in message


def test_pure_sdist_serves_every_arch(tmp_path):
    (tmp_path / "requirements.txt").write_text("docopt==0.6.2\n")
    done, out = mfci_json("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--arch", "osx-arm64")
    assert done.returncode == 0, done.stderr
    assert {e["status"] for e in out["envs"]} == {"resolved"}
    env_ids = {e["env_id"] for e in out["envs"]}
    assert len(env_ids) == 2  # one wheel built once, recorded for both archs
