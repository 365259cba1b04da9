"""One resolution per environment for all its archs (issue 15): every arch gets the versions
the others got; an arch that cannot use them gets its own answer, and says so; an arch no
version serves fails alone. Wheels of made-up packages, served by a private index."""

import json
import zipfile
from pathlib import Path

import pytest
import tomllib
from conftest import mfci, mfci_json, serve, simple_index, two_step_flow

from mfci.resolve.universal import environment_marker, for_arch, project
from mfci.spec import EnvSpec
from mfci.warm import families

ARCHS = ["linux-64", "osx-64", "osx-arm64"]


def wheel(folder: Path, name: str, version: str, platform: str) -> Path:
    """A wheel of one empty module for one platform tag (`any`: every platform)."""
    path = folder / f"{name}-{version}-py3-none-{platform}.whl"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}.py": "", f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-{platform}\n"}
    files[f"{info}/RECORD"] = "".join(f"{file},,\n" for file in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(path, "w") as archive:
        for file, text in files.items():
            archive.writestr(file, text)
    return path


@pytest.fixture(scope="module")
def private_index(tmp_path_factory):
    """evenpkg: 2.0 has no osx-64 wheel, 1.0 is pure Python. shiftpkg: 2.0's osx-64 wheel
    needs macOS 14 (the target is 13.0), 1.0 is pure Python. droppkg stopped shipping for
    osx-64 after 1.0, which is for osx-64 only. gonepkg: never for osx-64."""
    folder = tmp_path_factory.mktemp("wheels")
    files = [wheel(folder, "evenpkg", "2.0", tag) for tag in ("manylinux_2_17_x86_64", "macosx_11_0_arm64")]
    files += [wheel(folder, "shiftpkg", "2.0", tag)
              for tag in ("manylinux_2_17_x86_64", "macosx_11_0_arm64", "macosx_14_0_x86_64")]
    files += [wheel(folder, name, "1.0", "any") for name in ("evenpkg", "shiftpkg")]
    files += [wheel(folder, "droppkg", "2.0", tag) for tag in ("manylinux_2_17_x86_64", "macosx_11_0_arm64")]
    files += [wheel(folder, "droppkg", "1.0", "macosx_10_9_x86_64")]
    files += [wheel(folder, "gonepkg", "1.0", tag) for tag in ("manylinux_2_17_x86_64", "macosx_11_0_arm64")]
    with serve(simple_index(tmp_path_factory.mktemp("index"), files)) as url:
        yield {"UV_INDEX": f"{url}/simple"}


def warm(folder: Path, package: str, env: dict) -> tuple:
    two_step_flow(folder, "train_flow", "TrainFlow", start=f'@pypi(packages={{"{package}": ">=1.0"}})')
    return mfci_json("warm", str(folder), *sum((["--arch", arch] for arch in ARCHS), []), env=env)


def versions(store_root: Path, out: dict, name: str) -> dict:
    """arch -> (version of `name`, the record's note) for the start step."""
    found = {}
    for entry in out["envs"]:
        if entry["step"] == "start" and entry["status"] == "resolved":
            folder = store_root / "envs" / entry["spec_id"] / entry["arch"]
            record = json.loads((folder / f"{entry['env_id']}.json").read_text())
            version = next(p["version"] for p in record["packages"] if p["name"] == name)
            found[entry["arch"]] = (version, record.get("note", ""))
    return found


def test_every_arch_gets_the_versions_all_archs_can_use(tmp_path, store_root, private_index):
    done, out = warm(tmp_path / "flows", "evenpkg", private_index)
    assert done.returncode == 0, done.stderr
    # A solve per arch would give Linux and Apple silicon 2.0; one for all gives all 1.0.
    assert versions(store_root, out, "evenpkg") == {arch: ("1.0", "") for arch in ARCHS}


def test_an_arch_that_cannot_use_the_shared_version_gets_its_own_and_says_why(tmp_path, store_root, private_index):
    done, out = warm(tmp_path / "flows", "shiftpkg", private_index)
    assert done.returncode == 0, done.stderr
    found = versions(store_root, out, "shiftpkg")
    assert {arch: version for arch, (version, _) in found.items()} == {"linux-64": "2.0", "osx-arm64": "2.0",
                                                                       "osx-64": "1.0"}
    assert found["linux-64"][1] == found["osx-arm64"][1] == ""
    assert found["osx-64"][1].startswith("resolved for osx-64 alone: shiftpkg 2.0 has x86_64 wheels for macOS ≥ 14.0")

    shown = mfci("show")
    assert shown.returncode == 0, shown.stderr
    [line] = [line for line in shown.stdout.splitlines() if "osx-64" in line and "start" in line]
    assert "resolved for osx-64 alone" in line
    looked = mfci("lookup", str(tmp_path / "flows" / "train_flow.py"), "--step", "start", "--arch", "osx-64")
    assert "  note: resolved for osx-64 alone" in looked.stdout, looked.stderr

    # Warmed again: hits that still say why.
    done, again = mfci_json("warm", str(tmp_path / "flows"), *sum((["--arch", arch] for arch in ARCHS), []),
                            env=private_index)
    assert {e["status"] for e in again["envs"] if e["step"] == "start"} == {"hit"}
    assert [e["arch"] for e in again["envs"] if e.get("note")] == ["osx-64"]


def test_an_arch_a_package_left_keeps_the_last_version_it_had(tmp_path, store_root, private_index):
    done, out = warm(tmp_path / "flows", "droppkg", private_index)
    assert done.returncode == 0, done.stderr
    assert versions(store_root, out, "droppkg") == {
        "linux-64": ("2.0", ""), "osx-arm64": ("2.0", ""),
        "osx-64": ("1.0", "no version for every arch: droppkg 1.0 (other archs: 2.0)")}


def test_an_arch_no_version_serves_fails_alone(tmp_path, store_root, private_index):
    done, out = warm(tmp_path / "flows", "gonepkg", private_index)
    assert done.returncode == 1
    statuses = {e["arch"]: e["status"] for e in out["envs"] if e["step"] == "start"}
    assert statuses == {"linux-64": "resolved", "osx-arm64": "resolved", "osx-64": "failed"}
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "step start: TrainFlow on osx-64:" in errors[0] and "gonepkg" in errors[0], errors
    notes = {arch: note for arch, (_, note) in versions(store_root, out, "gonepkg").items()}
    assert all(note.startswith("resolved per arch: no universal resolution") for note in notes.values()), notes


# The pure parts: what uv is asked, what each arch takes from its answer, what is grouped.

def test_the_project_declares_every_target_as_required():
    text = project(["pandas>=2"], "3.11.7", ARCHS, "3.11", ["numpy<3"], [("torch", "cpu")], [("cpu", "https://x/")])
    data = tomllib.loads(text)
    markers = [environment_marker(arch, "3.11.7") for arch in ARCHS]
    assert data["tool"]["uv"]["environments"] == data["tool"]["uv"]["required-environments"] == markers
    assert markers[1] == "sys_platform == 'darwin' and platform_machine == 'x86_64' and python_full_version == '3.11.7'"
    assert data["tool"]["uv"]["no-build"] is True and data["tool"]["uv"]["constraint-dependencies"] == ["numpy<3"]
    assert data["tool"]["uv"]["sources"] == {"torch": {"index": "cpu"}}
    assert environment_marker("linux-aarch64", "3.12").endswith("python_version == '3.12'")


def test_each_arch_takes_what_its_markers_select():
    lock = {"packages": [
        {"name": "numpy", "version": "2.0"},
        {"name": "colorama", "version": "0.4", "marker": "sys_platform == 'win32'"},
        {"name": "uvloop", "version": "0.19", "marker": "sys_platform != 'win32' and platform_machine == 'x86_64'"},
        {"name": "tomli", "version": "2.0", "marker": "python_full_version < '3.11'"},
    ]}
    names = {arch: [p["name"] for p in for_arch(lock, arch, "3.11")] for arch in ARCHS}
    assert names == {"linux-64": ["numpy", "uvloop"], "osx-64": ["numpy", "uvloop"], "osx-arm64": ["numpy"]}
    assert [p["name"] for p in for_arch(lock, "linux-aarch64", "3.10.4")] == ["numpy", "tomli"]


def test_the_archs_of_one_pypi_environment_are_warmed_together():
    def spec(arch: str, gpu: bool = False, pypi=("six==1.16.0",), conda=()) -> EnvSpec:
        system = {"__glibc": "2.27", **({"__cuda": "12.0"} if gpu else {})}
        return EnvSpec("3.11", pypi, conda, spec_id=f"{arch}-{gpu}-{pypi}-{conda}", system=system)

    cpu = {arch: spec(arch) for arch in ARCHS}
    gpu = spec("linux-64", gpu=True)
    conda = {arch: spec(arch, pypi=(), conda=("numpy",)) for arch in ARCHS[:2]}
    other = spec("linux-64", pypi=("attrs",))
    work = {(s.spec_id, arch): s for arch, s in [*cpu.items(), ("linux-64", gpu), *conda.items(), ("linux-64", other)]}
    grouped = families(work)
    assert sorted(map(sorted, grouped)) == sorted([ARCHS, ["linux-64"], ["linux-64"], ["osx-64"], ["linux-64"]])
    assert cpu in grouped and {"linux-64": other} in grouped
    assert sum(gpu in family.values() for family in grouped) == 1
