"""Importing what metaflow-netflixext (the seed) resolved and cached: its environments
become mfci records, pointers and aliases, without resolving anything again.

The seed's store (its source: `Conda.get_datastore_path_to_env`, `CachePackage.make_cache_url`,
`ResolvedEnvironment.to_dict`, `Conda.alias_environment`):

    <envs>/<arch>/<req_id>/<full_id>/env     JSON: deps, sources, extras, packages, resolved_on/by
    <envs>/aliases/generic/<name>/<tag>      JSON: [req_id, full_id] (every arch of that req_id)
    <packages>/<conda|pypi>/<host>/<path>/<file>/<stored file>/<md5|sha256>/<stored file>

Each environment's spec is what mfci computes for the equivalent step (its user
dependencies, Metaflow's pins included, for this run's settings and the arch), so a flow
step that asks for the same finds it. Each package is read from the seed's cache,
checked against the seed's md5 (conda) or sha256 (PyPI), and stored under mfci's own key
(or, when mfci's store is the seed's root itself, used where it is). Anything that cannot
be imported is one line naming it; the rest is imported.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .alias import Alias, publish_alias
from .cache import LocalPackages
from .config import Settings, user_name
from .errors import MfciError, UsageError, WorkError
from .io.files import digests_of
from .objects import EnvRef, parse_object
from .publish import publish_record
from .pythons import choose_pythons
from .record import EnvRecord, PackageFile
from .secrets import scrub
from .spec import EnvSpec, PypiOptions, StepRequirement, build_spec
from .store.base import ObjectMissing, Store
from .urls import package_key

SEED_ID = re.compile(r"[0-9a-f]{40}")
PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class SeedEnv:
    """One environment of the seed's store: envs/<arch>/<req_id>/<full_id>/env."""

    key: str
    arch: str
    req_id: str
    full_id: str
    data: dict


@dataclass
class ImportResult:
    envs: list[dict] = field(default_factory=list)      # seed env -> mfci record
    aliases: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)    # {"what", "message"}: one line each

    def fail(self, what: str, message: str) -> None:
        self.errors.append({"what": what, "message": message})


def _entries(values, what: str) -> dict[str, list[str]]:
    """The seed's "category::value" strings (TStr) by category (legacy `pip` is `pypi`)."""
    found: dict[str, list[str]] = {}
    for text in values or []:
        category, sep, value = str(text).partition("::")
        if not sep:
            raise ValueError(f"{what} entry {text!r} is not category::value")
        found.setdefault("pypi" if category == "pip" else category, []).append(value)
    return found


def _split(value: str) -> tuple[str, str]:
    """`name==spec` as the seed writes a dependency (spec may start with an operator)."""
    name, _, spec = value.partition("==")
    return name.strip(), spec.strip()


def seed_requirement(env: SeedEnv, default_channels: tuple[str, ...], default_index: str | None) -> StepRequirement:
    """The step (or file) request a seed environment was resolved for, as mfci reads one."""
    deps = _entries(env.data.get("deps"), "deps")
    sources = _entries(env.data.get("sources"), "sources")
    extras = _entries(env.data.get("extras"), "extras")
    python, conda, pypi, system = None, {}, {}, {}
    for value in deps.get("conda", []) + deps.get("npconda", []):
        name, spec = _split(value)
        if name == "python":
            python = spec or None
        else:
            conda[name] = spec
    for value in deps.get("pypi", []):
        name, spec = _split(value)
        pypi[name] = spec
    for value in deps.get("sys", []):
        name, spec = _split(value)
        system[name] = spec.split("=")[0]
    channels = tuple(c for c in sources.get("conda", []) if c not in default_channels)
    indexes = [u for u in sources.get("pypi", []) if u.rstrip("/") not in (PYPI, (default_index or "").rstrip("/"))]
    options = PypiOptions(extra_index_urls=tuple(indexes))
    for argument in extras.get("pypi", []):
        option, _, value = argument.partition(" ")
        if option in ("--pre", "--no-index"):
            options = replace(options, **{option[2:].replace("-", "_"): True})
        elif option in ("-f", "--find-links"):
            options = replace(options, find_links=(*options.find_links, value))
        elif option == "--trusted-host":
            options = replace(options, trusted_hosts=(*options.trusted_hosts, value))
        else:
            raise ValueError(f"unknown PyPI option {argument!r}")
    # A GPU step is the one the seed resolved with __cuda (remote GPU compute is Linux).
    gpu = "__cuda" in system and env.arch.startswith("linux")
    return StepRequirement(env.key, "", "", pypi=pypi or None, conda=conda or None, python=python, gpu=gpu,
                           channels=channels, pypi_options=options)


@dataclass(frozen=True)
class SeedPackage:
    """One file of a seed environment: where the seed cached it and what mfci records of it."""

    cache_key: str        # the seed's object, relative to its root
    name: str
    version: str
    kind: str             # "conda" or "pypi"
    url: str              # the source URL, scrubbed
    filename: str         # the file installed (a wheel built from an sdist: the wheel)
    key: str              # where mfci keeps it, under its packages folder
    seed_hash: str        # the seed's md5 (conda) or sha256 (PyPI) of that file

    @property
    def hash_name(self) -> str:
        return "md5" if self.kind == "conda" else "sha256"


def seed_package(data: dict) -> SeedPackage:
    """A package of the seed's environment JSON (PackageSpecification.to_dict)."""
    kind = "pypi" if data.get("_type") in ("pypi", "pip") else data.get("_type")
    if kind not in ("conda", "pypi"):
        raise ValueError(f"package type {data.get('_type')!r}")
    url, url_format, stem = str(data["url"]), str(data["url_format"]), str(data["filename"])
    installed = url_format if kind == "conda" else ".whl"   # a wheel built from an sdist is the .whl
    cached = (data.get("cache_info") or {}).get(installed)
    if not cached:
        raise ValueError(f"{stem}{installed} is not in the seed's cache")
    file = f"{stem}{installed}"
    seed_hash = (data.get("hashes") or {}).get(installed) or str(cached["url"]).split("/")[-2]
    if kind == "conda":
        name, version, _build = stem.rsplit("-", 2)
        key = package_key("conda", url)
    else:
        try:
            parsed = parse_wheel_filename(file)
        except InvalidWheelFilename:
            raise ValueError(f"{file} is not a wheel") from None
        name, version = str(parsed[0]), str(parsed[1])
        downloadable = url_format == ".whl" and url.startswith(("http://", "https://"))
        key = package_key("pypi", url) if downloadable else f"pypi/_built/{seed_hash}/{file}"
    return SeedPackage(str(cached["url"]), name, version, kind, scrub(url), file, key, seed_hash)


def _resolved_by(text: str) -> str:
    """The seed's user ("alice", or "alice (compatible with …)") as a store key part."""
    try:
        return user_name(str(text).split(" ")[0] or "unknown")
    except ValueError:
        return "unknown"


def _resolved_at(text: str) -> str:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return ""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat(timespec="microseconds")


class Importer:
    def __init__(self, settings: Settings, seed: Store, store: Store, jobs: int = 8, dry_run: bool = False,
                 progress=None):
        self.settings, self.seed, self.store = settings, seed, store
        self.layout = settings.layout
        self.jobs, self.dry_run = jobs, dry_run
        self.progress = progress
        self.local = LocalPackages(settings.cache_dir / "pkgs")
        self.same_store = seed.url == store.url
        self._copied: dict[str, PackageFile] = {}
        self._guard = threading.Lock()

    def seed_envs(self) -> list[SeedEnv]:
        envs = self.layout.envs
        found = []
        for key in self.seed.list(envs):
            parts = key[len(envs) + 1:].split("/")
            if len(parts) == 4 and parts[3] == "env" and SEED_ID.fullmatch(parts[1]) and SEED_ID.fullmatch(parts[2]):
                found.append((key, *parts[:3]))
        result = []
        for key, arch, req_id, full_id in found:
            try:
                data = json.loads(self.seed.read(key))
                if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
                    raise ValueError("not an environment description")
            except (ValueError, ObjectMissing) as error:
                result.append(SeedEnv(key, arch, req_id, full_id, {"error": str(error)}))
                continue
            result.append(SeedEnv(key, arch, req_id, full_id, data))
        return result

    def _spec(self, env: SeedEnv) -> EnvSpec:
        inputs = self.settings.spec_inputs
        requirement = seed_requirement(env, self.settings.conda_channels, inputs.pypi_index)
        python = choose_pythons(requirement.python, [inputs.default_python])[0]
        return build_spec(requirement, inputs, env.arch, python)

    def _copy(self, item: SeedPackage) -> PackageFile:
        """The package in mfci's store, checked against the seed's hash (once per file)."""
        with self._guard:
            lock = self._copied.setdefault(f"lock:{item.cache_key}", threading.Lock())
        with lock:
            if item.cache_key in self._copied:
                return self._copied[item.cache_key]
            package = self._copy_once(item)
            self._copied[item.cache_key] = package
            return package

    def _copy_once(self, item: SeedPackage) -> PackageFile:
        """Read from the seed's cache, check the seed's hash, learn the sha256 (the seed
        keeps md5 for conda files), and store it under mfci's key — or, when mfci's store
        is the seed's own root, keep it where it is."""
        packages = self.layout.packages + "/"
        in_place = self.same_store and item.cache_key.startswith(packages)
        key = item.cache_key[len(packages):] if in_place else item.key
        with self.local.staging() as staged:
            try:
                self.seed.download(item.cache_key, staged)
            except ObjectMissing:
                raise WorkError(f"{item.filename} is missing from the seed's cache ({item.cache_key})") from None
            sha256, md5 = digests_of(staged)
            if (md5 if item.hash_name == "md5" else sha256) != item.seed_hash:
                raise WorkError(f"{item.filename} in the seed's cache ({item.cache_key}) does not match its "
                                f"{item.hash_name} {item.seed_hash[:16]}…")
            package = PackageFile(item.name, item.version, item.kind, item.url, item.filename, sha256,
                                  staged.stat().st_size, key, md5 if item.kind == "conda" else None)
            path = self.local.adopt(staged, package)
        if not in_place:
            self.store.create_from_file(self.layout.package(key), path)
        return package

    def import_env(self, env: SeedEnv, result: ImportResult) -> EnvRef | None:
        if "error" in env.data:
            result.fail(env.key, f"unreadable: {env.data['error']}")
            return None
        try:
            spec = self._spec(env)
            items = [seed_package(p) for p in env.data["packages"]]
        except (ValueError, KeyError, TypeError, MfciError) as error:
            result.fail(env.key, f"cannot be read as an environment: {error}")
            return None
        row = {"seed": f"{env.req_id}:{env.full_id}", "arch": env.arch, "spec_id": spec.spec_id}
        if self.dry_run:  # the env_id needs every file's bytes: unknown until imported
            result.envs.append({**row, "env_id": None, "status": "would-import"})
            return EnvRef(spec.spec_id, "")
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.jobs)) as pool:
                packages = list(pool.map(self._copy, items))
            record = EnvRecord(spec.spec_id, env.arch, spec.python, tuple(packages), spec.canonical(),
                               resolver="netflixext", resolved_by=_resolved_by(env.data.get("resolved_by", "")),
                               resolved_at=_resolved_at(env.data.get("resolved_on", "")))
            publish_record(self.store, self.layout, record)
        except (MfciError, OSError, ValueError) as error:
            result.fail(env.key, str(error))
            return None
        result.envs.append({**row, "env_id": record.env_id, "status": "imported"})
        if self.progress:
            self.progress(f"imported {env.arch:13} {env.req_id[:12]}:{env.full_id[:12]} → "
                          f"spec {spec.spec_id[:12]} env {record.env_id[:12]}")
        return EnvRef(spec.spec_id, record.env_id)

    def import_aliases(self, imported: dict[tuple[str, str], dict[str, EnvRef]], result: ImportResult) -> None:
        """The seed's named environments (envs/aliases/generic/<name>/<tag>), with every arch
        imported for the (req_id, full_id) they name."""
        prefix = f"{self.layout.envs}/aliases/generic/"
        for key in self.seed.list(prefix.rstrip("/")):
            name, _, tag = key[len(prefix):].rpartition("/")
            try:
                alias = Alias.parse(f"{name}:{tag}")
                req_id, full_id = parse_object(self.seed.read(key), _seed_alias)
            except (MfciError, ValueError, ObjectMissing) as error:
                result.fail(key, f"not an alias mfci can keep: {error}")
                continue
            envs = imported.get((req_id, full_id))
            if not envs:
                result.fail(key, f"alias {alias} names {req_id}:{full_id}, which was not imported")
                continue
            try:
                if not self.dry_run:
                    publish_alias(self.store, self.layout, alias, envs, self.settings.user)
                result.aliases.append(str(alias))
            except MfciError as error:
                result.fail(key, str(error))

    def run(self) -> ImportResult:
        result = ImportResult()
        envs = self.seed_envs()
        if not envs:
            raise UsageError(f"{self.seed.url}: no metaflow-netflixext environments under "
                             f"{self.layout.envs}/<arch>/<req_id>/<full_id>/env")
        imported: dict[tuple[str, str], dict[str, EnvRef]] = {}
        for env in envs:
            ref = self.import_env(env, result)
            if ref is not None:
                imported.setdefault((env.req_id, env.full_id), {})[env.arch] = ref
        self.import_aliases(imported, result)
        return result


def _seed_alias(value) -> tuple[str, str]:
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) and SEED_ID.fullmatch(v)
                                                                   for v in value)):
        raise ValueError("expected [req_id, full_id]")
    return value[0], value[1]

