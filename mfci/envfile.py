"""Environment files as requirements: requirements.txt, environment.yml, pyproject.toml.

The inputs netflixext's `environment resolve` reads, turned into the same StepRequirement
a flow step gives, so a file and a step with the same needs share one spec. Each format
is read by a real parser — pip's own requirement-file grammar (pip-requirements-parser),
conda's match specs (py-rattler's MatchSpec), TOML and PEP 508 (packaging) — with only
the seed's own additions layered on top: `--conda-pkg`, `--conda-channel`, `--sys-pkg`
lines, `sys:` and `pypi-indices:` sections, `name = version` pip entries and `pkg=>=1.0`.

Index and channel URLs are kept as written (credentials included) in the requirement:
resolution and downloads use them; build_spec scrubs them before anything is hashed,
stored or printed.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from .errors import UsageError
from .secrets import register_url
from .spec import (
    USER_SYSTEM_PACKAGES,
    PypiOptions,
    StepRequirement,
    canonical_requirement,
)

KINDS = ("requirements", "environment", "pyproject")
SEED_LINE_OPTIONS = ("--conda-pkg", "--conda-channel", "--sys-pkg")
# pip expands ${NAME} (upper case, digits, underscores) in requirement files from the environment.
ENV_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")
# The seed accepts an `=` before an operator (`pandas=>=1.0`) and `name = version` pip entries.
SEED_EQUALS = re.compile(r"=\s*(?=[<>!~])")
SEED_PIP_EQUALS = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-\[\], ]*?)\s*=\s*([<>!~=]*)\s*([^\s;=<>!~][^;]*?)\s*(;.*)?$")
# pip options mfci honours, by pip-requirements-parser's names for them; the others refuse.
PIP_OPTIONS = ("index_url", "extra_index_urls", "find_links", "pre", "no_index", "trusted_hosts",
               "requirements", "constraints", "prefer_binary", "only_binary", "require_hashes")


@dataclass(frozen=True)
class Selection:
    """Which optional parts of a pyproject to install: extras and dependency groups."""

    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    all_extras: bool = False


@dataclass
class _Request:
    """What an environment file asks for, gathered line by line."""

    pypi: list[str] = field(default_factory=list)
    conda: dict[str, str] = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)
    system: dict[str, str] = field(default_factory=dict)
    python: str | None = None
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    named_indexes: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    hashes: dict[str, list[str]] = field(default_factory=dict)
    pre: bool = False
    no_index: bool = False
    require_hashes: bool = False
    trusted_hosts: list[str] = field(default_factory=list)

    def set_python(self, value: str, where: str) -> None:
        if self.python and self.python != value:
            raise UsageError(f"{where}: python is asked for twice ({self.python} and {value})")
        self.python = value

    def requirement(self, path: Path) -> StepRequirement:
        for url in (self.index_url, *self.extra_index_urls, *self.find_links, *self.named_indexes.values(),
                    *self.channels, *(n.rpartition("::")[0] for n in self.conda)):
            if url:
                register_url(url)
        options = PypiOptions(
            index_url=self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links)),
            named_indexes=tuple(sorted(self.named_indexes.items())),
            sources=tuple(sorted(self.sources.items())),
            constraints=tuple(dict.fromkeys(self.constraints)),
            hashes=tuple((name, tuple(sorted(set(values)))) for name, values in sorted(self.hashes.items())),
            pre=self.pre, no_index=self.no_index, trusted_hosts=tuple(dict.fromkeys(self.trusted_hosts)))
        # Each requirement is its own key: a file may name a package twice (under two
        # markers); build_spec parses and spells every one canonically.
        return StepRequirement(str(path), "", "", pypi={line: "" for line in dict.fromkeys(self.pypi)} or None,
                               conda=self.conda or None, python=self.python, channels=tuple(self.channels),
                               system=self.system or None, pypi_options=options)


def _requirement(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as error:
        raise UsageError(f"{where}: invalid requirement {text!r} ({str(error).splitlines()[0]})") from None


def _link(value: str, base: Path) -> str:
    """A find-links or index location: a URL as written, a local path as a file:// URL
    (relative paths from the file's own folder, as pip reads them)."""
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve().as_uri()


# --- requirements.txt ------------------------------------------------------------------

def _expand(text: str, environ: Mapping[str, str]) -> str:
    return ENV_VARIABLE.sub(lambda m: environ.get(m[1], m[0]), text)


def _seed_line(request: _Request, option: str, value: str, where: str) -> None:
    """The seed's own requirement-file lines."""
    if not value:
        raise UsageError(f"{where}: {option} needs a value")
    if option == "--conda-channel":
        request.channels.append(value)
    elif option == "--conda-pkg":
        name, version = conda_entry(value, where)
        request.conda[name] = version
    else:
        name, version = system_entry(value, where)
        request.system[name] = version


def _pip_requirement(request: _Request, item, where: str, constraint: bool) -> None:
    """One parsed requirement line (pip-requirements-parser's InstallRequirement)."""
    if item.is_editable:
        raise UsageError(f"{where}: editable requirement {item.line!r}: an environment installs "
                         "wheels, not a working copy")
    if item.req is None:
        raise UsageError(f"{where}: {item.line!r} has no package name; write it as `name @ URL`")
    marker = getattr(item, "marker", None) or getattr(item, "markers", None)
    requirement = _requirement(f"{item.req}; {marker}" if marker else str(item.req), where)
    if item.link is not None and not requirement.url:   # a bare wheel or sdist URL: pip names it by its file
        requirement.url, requirement.specifier = str(item.link), SpecifierSet()
    name = canonicalize_name(requirement.name)
    if name == "python":
        if constraint or requirement.url or not requirement.specifier:
            raise UsageError(f"{where}: python takes a version or a range (python>=3.10)")
        request.set_python(str(requirement.specifier), where)
        return
    if item.hash_options:
        request.hashes.setdefault(name, []).extend(item.hash_options)
    elif request.require_hashes and not constraint:
        raise UsageError(f"{where}: --require-hashes, but {item.line!r} has no --hash")
    (request.constraints if constraint else request.pypi).append(canonical_requirement(requirement))


def _pip_option(request: _Request, options: dict, where: str, base: Path, environ, seen: tuple) -> None:
    for name, value in options.items():
        if name not in PIP_OPTIONS:
            raise UsageError(f"{where}: option {name.replace('_', '-')} is not supported in an environment file")
        if name == "index_url":
            request.index_url = value
        elif name == "extra_index_urls":
            request.extra_index_urls += value
        elif name == "find_links":
            request.find_links += [_link(v, base) for v in value]
        elif name == "trusted_hosts":
            request.trusted_hosts += value
        elif name in ("pre", "no_index", "require_hashes"):
            setattr(request, name, True)
        elif name in ("requirements", "constraints"):
            for nested in value:
                if "://" in nested:
                    raise UsageError(f"{where}: -r/-c of a URL ({nested}) is not supported; use a local file")
                _read_pip_file(request, base / nested, environ, seen, constraint=name == "constraints", where=where)
        # prefer_binary, only_binary: mfci resolves wheels only anyway


def _read_pip_text(request: _Request, text: str, origin: Path, base: Path, environ, seen: tuple,
                   constraint: bool = False) -> None:
    """pip's requirement-file grammar (pip's own parser), plus the seed's three lines."""
    from pip_requirements_parser import RequirementsFile

    # The parser reads files; the expanded text (it may hold a token) lives in a private
    # temporary folder for the time it takes.
    with tempfile.TemporaryDirectory(prefix="mfci-req-") as scratch:
        copy = Path(scratch, "requirements.txt")
        copy.write_text(_expand(text, environ))
        parsed = RequirementsFile.from_file(str(copy), include_nested=False)
    for line in parsed.invalid_lines:
        where = f"{origin}:{line.line_number}"
        option, _, value = line.line.strip().partition(" ")
        if option.split("=", 1)[0] in SEED_LINE_OPTIONS:
            if constraint:
                raise UsageError(f"{where}: {option} has no meaning in a constraints file")
            option, _, inline = option.partition("=")
            _seed_line(request, option, (inline or value).strip(), where)
        else:
            message = " ".join(str(line.error_message).split()).removeprefix("pip_requirements_parser: error: ")
            raise UsageError(f"{where}: invalid line {line.line.strip()!r} ({message})")
    for option in parsed.options:
        _pip_option(request, option.options, f"{origin}:{option.line_number}", base, environ, seen)
    for item in parsed.requirements:
        _pip_requirement(request, item, f"{origin}:{item.line_number}", constraint or item.is_constraint)


def _read_pip_file(request: _Request, path: Path, environ, seen: tuple = (), constraint: bool = False,
                   where: str = "") -> None:
    """A requirements file; `where`: the -r/-c line that includes it."""
    resolved = path.resolve()
    prefix = f"{where}: " if where else ""
    if resolved in seen:
        raise UsageError(f"{prefix}{path} is included from itself ({' -> '.join(str(p) for p in (*seen, resolved))})")
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"{prefix}cannot read {path} ({error.strerror or error})") from None
    _read_pip_text(request, text, path, path.parent, environ, (*seen, resolved), constraint)


def read_requirements_txt(path: Path, environ: Mapping[str, str]) -> StepRequirement:
    request = _Request()
    _read_pip_file(request, path, environ)
    return request.requirement(path)


# --- environment.yml -------------------------------------------------------------------

def conda_entry(text: str, where: str) -> tuple[str, str]:
    """A conda match spec (rattler's parser) as Metaflow's (name, version) pair:
    `channel::name` keeps its channel, a build string follows the version after a space."""
    from rattler import MatchSpec
    from rattler.exceptions import InvalidMatchSpecError

    spec = SEED_EQUALS.sub("", str(text).strip(), count=1)
    try:
        parsed = MatchSpec(spec)
    except InvalidMatchSpecError as error:
        raise UsageError(f"{where}: invalid conda dependency {text!r} ({' '.join(str(error).split())})") from None
    if parsed.name is None:
        raise UsageError(f"{where}: conda dependency {text!r} names no package")
    channel = spec.split("::", 1)[0] if "::" in spec.split()[0] else ""
    version = str(parsed.version) if parsed.version is not None else ""
    build = str(parsed.build) if parsed.build is not None else ""
    value = f"{version or '*'} {build}" if build else version
    return f"{channel + '::' if channel else ''}{parsed.name.normalized}", value


def system_entry(text: str, where: str) -> tuple[str, str]:
    """A virtual package an environment needs (`__glibc=2.27`, `__cuda==12.1`): one version."""
    match = re.fullmatch(r"\s*(__[a-z0-9_]+)\s*(?:==|=)?\s*([0-9][0-9A-Za-z.]*)(?:=[0-9A-Za-z_.]+)?\s*", str(text))
    if not match:
        raise UsageError(f"{where}: system package {text!r}: expected a name and one version, such as __glibc==2.27")
    if match[1] not in USER_SYSTEM_PACKAGES:
        raise UsageError(f"{where}: system package {match[1]} is not one of {', '.join(USER_SYSTEM_PACKAGES)}")
    return match[1], match[2]


def _seed_pip_entry(entry: str) -> str:
    """The seed's `name = version` pip entries as PEP 508 (`name==version`); other lines as written."""
    try:
        Requirement(entry)
        return entry
    except InvalidRequirement:
        pass
    match = SEED_PIP_EQUALS.match(entry)
    if not match:
        return entry
    operator = match[2] if match[2] and match[2] != "=" else "=="
    return f"{match[1]}{operator}{match[3]}{match[4] or ''}"


def read_environment_yml(path: Path, environ: Mapping[str, str]) -> StepRequirement:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies") or [], list):
        raise UsageError(f"{path}: expected a mapping with a `dependencies:` list")
    request = _Request()
    for key in ("channels", "pypi-indices"):
        values = data.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise UsageError(f"{path}: `{key}:` must be a list of names or URLs")
    request.channels = list(data.get("channels") or [])
    request.extra_index_urls = list(data.get("pypi-indices") or [])
    for number, item in enumerate(data.get("dependencies") or [], 1):
        where = f"{path} dependency {number}"
        if isinstance(item, dict) and set(item) == {"pip"}:
            # conda hands this list to pip as a requirements file: pip's grammar applies.
            lines = [_seed_pip_entry(str(line)) for line in item["pip"] or []]
            _read_pip_text(request, "\n".join(lines), Path(f"{path} pip"), path.parent, environ, (path.resolve(),))
        elif isinstance(item, dict) and set(item) == {"sys"}:
            for entry in item["sys"] or []:
                name, version = system_entry(str(entry), where)
                request.system[name] = version
        elif isinstance(item, (str, int, float)):
            name, version = conda_entry(str(item), where)
            if name == "python":
                request.set_python(version.split()[0] if version else "", where)
            elif name != "pip":  # pip itself is uv's job here
                request.conda[name] = version
        else:
            raise UsageError(f"{where}: unsupported entry {item!r} (a match spec, `pip:` or `sys:`)")
    if request.python == "":
        request.python = None
    return request.requirement(path)


# --- pyproject.toml --------------------------------------------------------------------

def _string_list(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        kind = "a string" if isinstance(value, str) else type(value).__name__
        raise UsageError(f"{where} must be a list of requirement strings, not {kind}")
    return value


def _group(groups: dict, name: str, where: Path, seen: tuple = ()) -> list[str]:
    """A PEP 735 dependency group, its `{include-group = …}` entries expanded."""
    key = canonicalize_name(name)
    table = {canonicalize_name(k): v for k, v in groups.items()}
    if key not in table:
        known = ", ".join(sorted(groups)) or "none"
        raise UsageError(f"{where}: no dependency group {name!r} (groups: {known})")
    if key in seen:
        raise UsageError(f"{where}: dependency group {name!r} includes itself")
    lines: list[str] = []
    entries = table[key]
    if not isinstance(entries, list):
        raise UsageError(f"{where} [dependency-groups].{name} must be a list")
    for entry in entries:
        if isinstance(entry, dict) and set(entry) == {"include-group"}:
            lines += _group(groups, entry["include-group"], where, (*seen, key))
        elif isinstance(entry, str):
            lines.append(entry)
        else:
            raise UsageError(f"{where} [dependency-groups].{name}: unsupported entry {entry!r}")
    return lines


def _uv_source(name: str, source, base: Path, where: str) -> str | None:
    """A [tool.uv.sources] entry as a PEP 508 direct reference (None: an index pin)."""
    if not isinstance(source, dict):
        raise UsageError(f"{where}: [tool.uv.sources].{name}: only one source per package is supported")
    if "git" in source:
        ref = source.get("rev") or source.get("tag") or source.get("branch")
        url = f"git+{source['git']}" + (f"@{ref}" if ref else "")
        return url + (f"#subdirectory={source['subdirectory']}" if source.get("subdirectory") else "")
    if "url" in source:
        return str(source["url"])
    if "path" in source:
        return _link(str(source["path"]), base)
    if "index" in source:
        return None
    raise UsageError(f"{where}: [tool.uv.sources].{name}: unsupported source {source!r}")


def read_pyproject(path: Path, selection: Selection = Selection()) -> StepRequirement:
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML ({str(error).splitlines()[0]})") from None
    project = data.get("project") or {}
    request = _Request()
    lines = list(_string_list(project.get("dependencies", []), f"{path} [project].dependencies"))
    optional = project.get("optional-dependencies") or {}
    if not isinstance(optional, dict):
        raise UsageError(f"{path} [project].optional-dependencies must be a table")
    extras = {canonicalize_name(name): _string_list(v, f"{path} [project].optional-dependencies.{name}")
              for name, v in optional.items()}
    wanted = list(extras) if selection.all_extras else [canonicalize_name(e) for e in selection.extras]
    own = canonicalize_name(project.get("name") or "")
    done: set[str] = set()
    while wanted:
        extra = wanted.pop(0)
        if extra in done:
            continue
        if extra not in extras:
            raise UsageError(f"{path}: no optional dependencies {extra!r} (extras: {', '.join(sorted(optional)) or 'none'})")
        done.add(extra)
        for line in extras[extra]:
            requirement = _requirement(line, f"{path} [project].optional-dependencies.{extra}")
            if own and canonicalize_name(requirement.name) == own:   # `project[other]`: that extra too
                wanted += [canonicalize_name(e) for e in requirement.extras]
            else:
                lines.append(line)
    for group in selection.groups:
        lines += _group(data.get("dependency-groups") or {}, group, path)
    if project.get("requires-python"):
        request.python = str(project["requires-python"])
    uv = data.get("tool", {}).get("uv", {})
    sources = {canonicalize_name(k): v for k, v in (uv.get("sources") or {}).items()}
    indexes = uv.get("index") or []
    for index in indexes:
        if not isinstance(index, dict) or not index.get("url"):
            raise UsageError(f"{path} [[tool.uv.index]]: every index needs a url")
        if index.get("default"):
            request.index_url = index["url"]
        elif not index.get("explicit"):
            request.extra_index_urls.append(index["url"])
        if index.get("name"):
            request.named_indexes[index["name"]] = index["url"]
    for key, target in (("index-url", "index_url"), ("extra-index-url", "extra_index_urls"), ("find-links", "find_links")):
        if key in uv:
            value = uv[key]
            if target == "index_url":
                request.index_url = value
            else:
                getattr(request, target).extend(_link(v, path.parent) if target == "find_links" else v
                                                for v in ([value] if isinstance(value, str) else value))
    request.constraints += [canonical_requirement(_requirement(line, f"{path} [tool.uv].constraint-dependencies"))
                            for line in _string_list(uv.get("constraint-dependencies", []),
                                                     f"{path} [tool.uv].constraint-dependencies")]
    if uv.get("prerelease") == "allow":
        request.pre = True
    # The seed reads poetry's sources as extra indexes too.
    for source in data.get("tool", {}).get("poetry", {}).get("source", []) or []:
        if isinstance(source, dict) and source.get("url"):
            request.extra_index_urls.append(source["url"])
    pinned: dict[str, str] = {}
    for line in lines:
        requirement = _requirement(line, f"{path} [project]")
        name = canonicalize_name(requirement.name)
        if name in sources:
            url = _uv_source(name, sources[name], path.parent, str(path))
            if url is None:
                index = sources[name]["index"]
                if index not in request.named_indexes:
                    raise UsageError(f"{path}: [tool.uv.sources].{name} names index {index!r}, which no "
                                     "[[tool.uv.index]] defines")
                pinned[name] = index
            else:
                requirement.url, requirement.specifier = url, SpecifierSet()
        request.pypi.append(str(requirement))
    request.sources = pinned
    request.named_indexes = {n: u for n, u in request.named_indexes.items() if n in pinned.values()}
    return request.requirement(path)


def read_environment_file(path: Path, kind: str, environ: Mapping[str, str],
                          selection: Selection = Selection()) -> StepRequirement:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if kind != "pyproject" and (selection.extras or selection.groups or selection.all_extras):
        raise UsageError("--extra, --all-extras and --group select parts of a pyproject.toml (-p)")
    if kind == "requirements":
        requirement = read_requirements_txt(path, environ)
    elif kind == "environment":
        requirement = read_environment_yml(path, environ)
    else:
        requirement = read_pyproject(path, selection)
    if not (requirement.pypi or requirement.conda):
        raise UsageError(f"{path}: no packages in it")
    return requirement
