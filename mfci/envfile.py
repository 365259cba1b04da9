"""Environment files as requirements: requirements.txt, environment.yml, pyproject.toml.

The inputs netflixext's `environment resolve` reads, turned into the same StepRequirement
a flow step gives, so a file and a step with the same needs share one spec."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
from packaging.requirements import InvalidRequirement, Requirement

from .errors import UsageError
from .spec import StepRequirement

CONDA_LINE = re.compile(r"^(?:(?P<channel>[\w.\-/:]+)::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<version>[=<>!~].*)?$")


def _pypi_entry(line: str, where: str) -> tuple[str, str]:
    """One PEP 508 line as Metaflow's (name, version) pair; build_spec makes it canonical."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement as error:
        raise UsageError(f"{where}: invalid requirement {line!r} ({str(error).splitlines()[0]})") from None
    name = requirement.name + (f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else "")
    version = f" @ {requirement.url}" if requirement.url else str(requirement.specifier)
    if requirement.marker:
        version += f"; {requirement.marker}"
    return name, version


def _conda_entry(text: str, where: str) -> tuple[str, str]:
    match = CONDA_LINE.match(text.strip())
    if not match:
        raise UsageError(f"{where}: invalid conda dependency {text!r}")
    name = f"{match['channel']}::{match['name']}" if match["channel"] else match["name"]
    version = (match["version"] or "").strip()
    if re.fullmatch(r"=[^=<>!~].*", version):  # conda's `name=1.2` means 1.2.*
        version = version[1:] + ("" if version.endswith("*") else ".*")
    return name, version


def _python(version: str) -> str:
    return version.lstrip("=").removesuffix(".*").strip()


def read_requirements_txt(path: Path) -> StepRequirement:
    pypi, conda, channels, python = {}, {}, [], None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = re.sub(r"\s+#.*$", "", raw).strip()
        where = f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        option, _, value = line.partition(" ")
        if option in ("-i", "--index-url", "--extra-index-url"):
            raise UsageError(f"{where}: set the index with METAFLOW_CONDA_DEFAULT_PYPI_SOURCE, not in the file")
        if option == "--conda-pkg":
            conda.__setitem__(*_conda_entry(value, where))
        elif option == "--conda-channel":
            channels.append(value.strip())
        elif line.startswith("-"):
            raise UsageError(f"{where}: unsupported option {option}")
        else:
            name, version = _pypi_entry(line, where)
            if name.lower() == "python":
                python = _python(version)
            else:
                pypi[name] = version
    return StepRequirement(str(path), "", "", pypi=pypi, conda=conda or None, python=python,
                           channels=tuple(channels))


def read_environment_yml(path: Path) -> StepRequirement:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise UsageError(f"{path}: expected a mapping with a `dependencies:` list")
    conda, pypi, python = {}, {}, None
    for item in data.get("dependencies", []):
        if isinstance(item, dict) and set(item) == {"pip"}:
            for number, line in enumerate(item["pip"] or [], 1):
                pypi.__setitem__(*_pypi_entry(str(line), f"{path} pip entry {number}"))
        elif isinstance(item, str):
            name, version = _conda_entry(item, str(path))
            if name.lower() == "python":
                python = _python(version)
            elif name.lower() != "pip":  # pip itself is uv's job here
                conda[name] = version
        else:
            raise UsageError(f"{path}: unsupported dependency entry {item!r}")
    channels = tuple(str(c) for c in data.get("channels") or [])
    return StepRequirement(str(path), "", "", pypi=pypi or None, conda=conda or None, python=python,
                           channels=channels)


def read_pyproject(path: Path) -> StepRequirement:
    try:
        project = tomllib.loads(path.read_text()).get("project", {})
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML ({str(error).splitlines()[0]})") from None
    pypi = dict(_pypi_entry(line, f"{path} [project].dependencies") for line in project.get("dependencies", []))
    return StepRequirement(str(path), "", "", pypi=pypi)


def read_environment_file(path: Path, kind: str) -> StepRequirement:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    reader = {"requirements": read_requirements_txt, "environment": read_environment_yml,
              "pyproject": read_pyproject}[kind]
    requirement = reader(path)
    if not (requirement.pypi or requirement.conda):
        raise UsageError(f"{path}: no packages in it")
    return requirement
