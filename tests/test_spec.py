"""Spec identity: canonical, machine-independent, credential-free."""

import pytest

from mfci.errors import WorkError
from mfci.spec import SpecInputs, StepRequirement, build_spec, pypi_requirement

INPUTS = SpecInputs(default_python="3.11", system_packages={"linux-64": {"__glibc": "2.27"}},
                    gpu_packages={"__cuda": "11.8=0"})


def step(**fields):
    return StepRequirement(file="f.py", flow="F", step="s", **fields)


@pytest.mark.parametrize("name,value,expected", [
    ("pandas", "2.2.2", "pandas==2.2.2"),
    ("Requests", ">=2.21.0", "requests>=2.21.0"),
    ("numpy", "1.26.*", "numpy==1.26.*"),
    ("scikit_learn", "", "scikit-learn"),
    ("foo", ">=1,<2", "foo<2,>=1"),
    ("uvicorn[Standard]", "0.30.0", "uvicorn[standard]==0.30.0"),
])
def test_requirements_are_canonical(name, value, expected):
    assert pypi_requirement(name, value) == expected


def test_invalid_requirement_names_the_package():
    with pytest.raises(WorkError, match="bad name"):
        pypi_requirement("bad name", "1.0")


def test_spec_id_ignores_order_and_spelling():
    a = build_spec(step(pypi={"Pandas": "2.2.2", "requests": ">=2.21.0"}), INPUTS)
    b = build_spec(step(pypi={"requests": ">=2.21.0", "pandas": "==2.2.2"}), INPUTS)
    assert a.spec_id == b.spec_id and len(a.spec_id) == 64


def test_spec_id_depends_on_what_matters():
    base = build_spec(step(pypi={"six": "1.16.0"}), INPUTS)
    assert build_spec(step(pypi={"six": "1.15.0"}), INPUTS).spec_id != base.spec_id
    assert build_spec(step(pypi={"six": "1.16.0"}), INPUTS, python="3.12").spec_id != base.spec_id
    assert build_spec(step(pypi={"six": "1.16.0"}, gpu=True), INPUTS).spec_id != base.spec_id
    other_glibc = SpecInputs("3.11", {"linux-64": {"__glibc": "2.28"}}, {})
    assert build_spec(step(pypi={"six": "1.16.0"}), other_glibc).spec_id != base.spec_id


def test_pinned_python_wins_over_default_and_flag():
    spec = build_spec(step(pypi={"six": ""}, python="3.10.4"), INPUTS, python="3.12")
    assert spec.python == "3.10.4"


def test_spec_has_nothing_of_the_machine(monkeypatch):
    first = build_spec(step(pypi={"six": "1.16.0"}), INPUTS).spec_id
    monkeypatch.setattr("platform.system", lambda: "Darwin")
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    monkeypatch.setattr("sys.version_info", (3, 12, 1, "final", 0))
    assert build_spec(step(pypi={"six": "1.16.0"}), INPUTS).spec_id == first


def test_index_credentials_never_enter_the_spec():
    inputs = SpecInputs("3.11", {}, {}, pypi_index="https://alice:s3cret@pypi.example.com/simple")
    spec = build_spec(step(pypi={"six": ""}), inputs)
    assert spec.indexes == ("https://pypi.example.com/simple",)
    assert "s3cret" not in str(spec.canonical())
