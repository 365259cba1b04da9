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


L = "linux-64"


def test_spec_id_ignores_order_and_spelling():
    a = build_spec(step(pypi={"Pandas": "2.2.2", "requests": ">=2.21.0"}), INPUTS, L)
    b = build_spec(step(pypi={"requests": ">=2.21.0", "pandas": "==2.2.2"}), INPUTS, L)
    assert a.spec_id == b.spec_id and len(a.spec_id) == 64


def test_spec_id_depends_on_what_matters():
    base = build_spec(step(pypi={"six": "1.16.0"}), INPUTS, L)
    assert build_spec(step(pypi={"six": "1.15.0"}), INPUTS, L).spec_id != base.spec_id
    assert build_spec(step(pypi={"six": "1.16.0"}), INPUTS, L, python="3.12").spec_id != base.spec_id
    assert build_spec(step(pypi={"six": "1.16.0"}, gpu=True), INPUTS, L).spec_id != base.spec_id
    other_glibc = SpecInputs("3.11", {"linux-64": {"__glibc": "2.28"}}, {})
    assert build_spec(step(pypi={"six": "1.16.0"}), other_glibc, L).spec_id != base.spec_id


def test_one_archs_system_packages_change_no_other_archs_key():
    inputs = SpecInputs("3.11", {"linux-64": {"__glibc": "2.27"}, "osx-arm64": {"__osx": "11.0"}}, {"__cuda": "12"})
    moved = SpecInputs("3.11", {"linux-64": {"__glibc": "2.27"}, "osx-arm64": {"__osx": "12.0"}}, {"__cuda": "12"})
    six = step(pypi={"six": "1.16.0"})
    assert build_spec(six, inputs, L).spec_id == build_spec(six, moved, L).spec_id
    assert build_spec(six, inputs, "osx-arm64").spec_id != build_spec(six, moved, "osx-arm64").spec_id
    gpu = step(pypi={"six": "1.16.0"}, gpu=True)   # GPU packages are a Linux matter
    assert build_spec(gpu, inputs, "osx-arm64").spec_id == build_spec(six, inputs, "osx-arm64").spec_id
    assert build_spec(gpu, inputs, L).system == {"__glibc": "2.27", "__cuda": "12"}


def test_pinned_python_wins_over_default_and_flag():
    spec = build_spec(step(pypi={"six": ""}, python="3.10.4"), INPUTS, L, python=None)
    assert spec.python == "3.10.4"


@pytest.mark.parametrize("requested,preferred,chosen", [
    (None, ["3.11", "3.12"], ["3.11", "3.12"]),
    ("3.10", ["3.11"], ["3.10"]),
    ("==3.10.*", ["3.11"], ["3.10"]),
    ("3.10.12", ["3.11"], ["3.10.12"]),
    (">=3.10,<3.11", ["3.11"], ["3.10"]),      # the newest minor below the upper bound
    (">=3.9, <3.12", ["3.11", "3.12"], ["3.11"]),  # the preferred ones it admits
    (">=3.12", ["3.11"], ["3.12"]),            # the oldest above the lower bound: stable over time
    ("~=3.10", ["3.9"], ["3.14"]),
    ("<3.9", ["3.11"], ["3.8"]),
])
def test_python_ranges_are_narrowed_deterministically(requested, preferred, chosen):
    from mfci.pythons import choose_pythons

    assert choose_pythons(requested, preferred) == chosen


@pytest.mark.parametrize("requested", ["3", "python3", ">=4.0", "latest"])
def test_a_python_that_is_no_version_or_range_fails_its_step(requested):
    from mfci.spec import step_pythons

    with pytest.raises(WorkError, match="python"):
        step_pythons(step(python=requested), ["3.11"])


def test_spec_has_nothing_of_the_machine(monkeypatch):
    first = build_spec(step(pypi={"six": "1.16.0"}), INPUTS, L).spec_id
    monkeypatch.setattr("platform.system", lambda: "Darwin")
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    monkeypatch.setattr("sys.version_info", (3, 12, 1, "final", 0))
    assert build_spec(step(pypi={"six": "1.16.0"}), INPUTS, L).spec_id == first


def test_index_credentials_never_enter_the_spec():
    inputs = SpecInputs("3.11", {}, {}, pypi_index="https://alice:s3cret@pypi.example.com/simple")
    spec = build_spec(step(pypi={"six": ""}), inputs, L)
    assert spec.indexes == ("https://pypi.example.com/simple",)
    assert "s3cret" not in str(spec.canonical())
