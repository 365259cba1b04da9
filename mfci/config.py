"""Every setting mfci reads, in one table, read once per entry point into `Settings`.

A setting NAME is looked up as METAFLOW_NAME in the environment, then in the nearest
`.metaflow/config.json` above the working directory, then in the Metaflow profile
($METAFLOW_HOME/config.json or config_$METAFLOW_PROFILE.json), then its default — the
way Metaflow reads its own. The seed's CONDA_* names keep their meaning where mfci
honours them; mfci's own settings are CONDA_MFCI_* so that Metaflow forwards them to
remote tasks.

Each entry point (the CLI, the Metaflow extension, the remote bootstrap) calls
`Settings.load()` once and passes the result down: no stage reads the environment or
a profile itself. A malformed value fails the load, naming the variable (exit 2).

README's configuration table is generated from OPTIONS (`mfci config --markdown`); a
test keeps the two in step.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping

from .arch import ALL_ARCHS
from .errors import UsageError

# Honoured: mfci reads it. Planned: a later issue makes mfci read it. Unused: it
# configures a binary or a mode mfci does not have, and is ignored on purpose.
HONOURED, PLANNED, UNUSED = "yes", "not yet", "no"
# The groups of the table: the seed's settings first, then mfci's own, then Metaflow's.
SEED, MFCI, METAFLOW = "seed", "mfci", "metaflow"

STORE_PREFIX = "mfci"   # mfci's folder under a root it shares (CONDA_*ROOT, Metaflow's datastore root)
SAFE_NAME = re.compile(r"[^/\\\x00-\x1f]+")
VERSION_TEXT = re.compile(r"\d+(\.\d+)*")


def _text(value: Any) -> str:
    return str(value)


def _optional_text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _positive_int(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _flag(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be 1/0, true/false or yes/no")


def _folder_name(value: Any) -> str:
    """A folder under the store root: one or more plain path segments, nothing that escapes."""
    text = str(value).strip().rstrip("/")
    parts = text.split("/")
    if not text or any(p in ("", ".", "..") or not SAFE_NAME.fullmatch(p) for p in parts):
        raise ValueError("must be a folder name under the store root (no '..', no leading '/')")
    return text


def user_name(value: Any) -> str:
    """A user name as it appears in store keys (users/<name>.json)."""
    text = str(value).strip()
    if not SAFE_NAME.fullmatch(text) or text in (".", "..") or text.startswith("."):
        raise ValueError("must be a user name without '/', '\\', control characters or a leading '.'")
    return text


def _json_object(value: Any) -> dict:
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object")
    return parsed


def _virtual_packages(value: Any) -> dict:
    """{name: version[=build]} with names like __glibc and versions that parse."""
    if not isinstance(value, dict):
        raise ValueError("must map virtual package names (such as __glibc) to versions")
    packages = {}
    for name, version in value.items():
        text = str(version).strip()
        if not re.fullmatch(r"__[a-z0-9_]+", str(name)):
            raise ValueError(f"{name!r} is not a virtual package name (such as __glibc, __osx, __cuda)")
        if not VERSION_TEXT.fullmatch(text.split("=")[0]):
            raise ValueError(f"{name}: {version!r} is not a version")
        packages[str(name)] = text
    return packages


def _sys_packages(value: Any) -> dict:
    parsed = _json_object(value)
    unknown = [arch for arch in parsed if arch not in ALL_ARCHS]
    if unknown:
        raise ValueError(f"unknown arch {unknown[0]!r} (known: {', '.join(ALL_ARCHS)})")
    return {arch: _virtual_packages(packages) for arch, packages in parsed.items()}


def _gpu_packages(value: Any) -> dict:
    return _virtual_packages(_json_object(value))


def _auth_info(value: Any) -> dict:
    """The seed's CONDA_SRCS_AUTH_INFO: {"host": ["user", "password"]}."""
    parsed = _json_object(value)
    for host, pair in parsed.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(p, str) for p in pair):
            raise ValueError(f"{host!r} must map to [user, password]")
        if "/" in host or ":" in host or not host:
            raise ValueError(f"{host!r} is not a host name (no scheme, port or path)")
    return {host: (user, password) for host, (user, password) in parsed.items()}


def _name_list(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = json.loads(text) if text.startswith("[") else text.split(",")
        except ValueError as error:
            raise ValueError(f"not valid JSON ({error})") from None
    else:
        parsed = value
    if not isinstance(parsed, list):
        raise ValueError("must be a JSON list or a comma-separated list")
    return [str(item).strip() for item in parsed if str(item).strip()]


def _archs(value: Any) -> list[str]:
    archs = _name_list(value)
    unknown = [arch for arch in archs if arch not in ALL_ARCHS]
    if unknown or not archs:
        raise ValueError(f"unknown arch {unknown[0]!r} (known: {', '.join(ALL_ARCHS)})" if unknown
                         else "must name at least one arch")
    return list(dict.fromkeys(archs))


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if text not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return text

    return parse


def _remote_latest(value: Any) -> str:
    text = str(value).strip()
    if text in (":none:", ":any:", ":username:"):
        return text
    users = [user.strip() for user in text.split(",")]
    if not text or text.startswith(":") or any(not user for user in users):
        raise ValueError("must be :none:, :username:, :any: or a comma-separated list of user names")
    for user in users:
        user_name(user)
    return text


def _python_version(value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        raise ValueError("must be a python version X.Y or X.Y.Z, such as 3.11")
    return text


# macOS 13.0 for both Mac archs: what uv assumes for a macOS target (its default minimum),
# above conda-forge's build floors (10.13 / 11.0), and what today's numeric wheels need
# (scikit-learn, scipy, xgboost, lightgbm ship arm64 wheels for 12.0 and later only).
DEFAULT_SYS_PACKAGES = {
    "linux-64": {"__glibc": "2.27", "__unix": "0"},
    "linux-aarch64": {"__glibc": "2.27", "__unix": "0"},
    "osx-64": {"__osx": "13.0", "__unix": "0"},
    "osx-arm64": {"__osx": "13.0", "__unix": "0"},
}


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    status: str = HONOURED
    seed_default: str | None = None  # shown when mfci's default differs from the seed's
    group: str = SEED
    secret: bool = False             # shown masked by `mfci config`

    @property
    def variable(self) -> str:
        return "METAFLOW_" + self.name


OPTIONS: tuple[Option, ...] = (
    # --- the seed's (netflixext) settings, in its documentation's order ---
    Option("CONDA_S3ROOT", None, _optional_text,
           "Root on S3 (`s3://bucket/prefix`) when Metaflow's datastore is `s3`; the seed's objects "
           "stay at it, mfci's store is `<this>/mfci`. Unset: `<DATASTORE_SYSROOT_S3>/mfci`.", HONOURED, "`<DATASTORE_SYSROOT_S3>/conda_env`"),
    Option("CONDA_AZUREROOT", None, _optional_text,
           "Root on Azure Blob (`azure://container/prefix`) when Metaflow's datastore is `azure`; "
           "mfci's store is `<this>/mfci`. Unset: `<DATASTORE_SYSROOT_AZURE>/mfci`.", HONOURED,
           "`<DATASTORE_SYSROOT_AZURE>/conda_env`"),
    Option("CONDA_GSROOT", None, _optional_text,
           "Root on Google Cloud Storage (`gs://bucket/prefix`) when Metaflow's datastore is `gs`; "
           "mfci's store is `<this>/mfci`. Unset: `<DATASTORE_SYSROOT_GS>/mfci`.", HONOURED, "`<DATASTORE_SYSROOT_GS>/conda_env`"),
    Option("CONDA_LOCALROOT", None, _optional_text,
           "Root on a local or shared filesystem; mfci's store is `<this>/mfci`. Unset: "
           "`<DATASTORE_SYSROOT_LOCAL>/mfci`, else the user data folder (`~/.local/share/mfci/store` on Linux).",
           HONOURED, "`<DATASTORE_SYSROOT_LOCAL>/conda_env`"),
    Option("CONDA_DEPENDENCY_RESOLVER", "rattler", _choice("rattler", "mamba", "conda", "micromamba", "none"),
           "Conda solver: `rattler` (built in, py-rattler, no binary needed), `mamba`/`conda`/"
           "`micromamba` (that binary, from PATH, as in the seed), `none` (conda resolution disabled).",
           HONOURED, "`mamba`"),
    Option("CONDA_PYPI_DEPENDENCY_RESOLVER", "uv", _choice("uv", "pip", "none"),
           "PyPI resolver: `uv` (`uv pip compile` per target platform), `pip` "
           "(`pip install --dry-run --report`), `none` (PyPI resolution disabled)."),
    Option("CONDA_MIXED_DEPENDENCY_RESOLVER", "rattler+uv", _choice("rattler+uv", "none"),
           "Environments with conda and PyPI packages: the conda side first (it fixes python), then "
           "uv on top with every conda-provided package as a constraint. `none` disables them.",
           HONOURED, "`conda-lock`"),
    Option("CONDA_CHANNELS", None, _name_list,
           "Conda channels (names or URLs) after those named as `channel::package`; unset: the "
           "`CONDA_CHANNELS` environment variable, else the `channels` of conda's own `.condarc`, "
           "else `conda-forge`. Names live under `.condarc`'s `channel_alias`. Credentials in URLs "
           "(`user:password@`, `/t/<token>/`, `?token=`) are used to resolve and download but never "
           "enter an id, a record, a key or a log.", HONOURED, "not a seed setting (conda's own configuration)"),
    Option("CONDA_PACKAGES_DIRNAME", "packages", _folder_name,
           "Folder under the store root holding every package file."),
    Option("CONDA_ENVS_DIRNAME", "envs", _folder_name,
           "Folder under the store root holding environment records and pointers."),
    Option("CONDA_REMOTE_INSTALLER_DIRNAME", "remote-installers", _folder_name,
           "Folder under the store root holding the installers remote workers fetch "
           "(uv, and py-rattler for conda, for each Linux target arch).", HONOURED, "unset (download micromamba)"),
    Option("CONDA_REMOTE_INSTALLER", None, _optional_text,
           "The seed's micromamba binary for remote workers. Not used: a worker installs with uv (and "
           "py-rattler for conda) from the remote-installer folder, and each environment's interpreter "
           "from the store with its packages.", UNUSED),
    Option("CONDA_PREFERRED_FORMAT", "none", _choice(".conda", ".tar.bz2", "none"),
           "Conda archive format to install: when set, the store also keeps that format, "
           "converted (conda-package-streaming) when the channel has only the other. The "
           "environment id is of the channel's files, so it does not depend on this setting."),
    Option("CONDA_USE_REMOTE_LATEST", ":any:", _remote_latest,
           "Which published environment a lookup takes: `:any:` (the latest published by "
           "anyone, usually CI), `:username:` (the latest you published), `user1,user2` (the "
           "latest published by one of them), `:none:` (only environments this machine already "
           "used; never a store pointer).", HONOURED, "`:none:`"),
    Option("CONDA_DEFAULT_PYPI_SOURCE", None, _optional_text,
           "PyPI index URL to resolve against and download from. Unset: your uv configuration, "
           "else your pip configuration, else PyPI (README: Indexes and credentials). Credentials in it are "
           "used but never stored, logged or put on a command line.", secret=True),
    Option("CONDA_LOCK_TIMEOUT", 3600, _positive_int,
           "Seconds to wait for another process building the same environment."),
    Option("CONDA_LOCAL_DIST_DIRNAME", None, _optional_text,
           "The seed's store folder of conda distribution tarballs. Not used: interpreters are stored "
           "as packages (`<CONDA_PACKAGES_DIRNAME>/python/<sha256>/<archive>`).", UNUSED),
    Option("CONDA_LOCAL_DIST", None, _optional_text,
           "The seed's conda distribution tarball, the python it bootstraps from. Not used: a PyPI "
           "environment's interpreter is a CPython build listed in its record; a conda environment's "
           "python comes from its channel.", UNUSED),
    Option("CONDA_LOCAL_PATH", None, _optional_text,
           "Where the seed unpacks that distribution. Not used: each interpreter build is unpacked "
           "once per machine under `<CONDA_MFCI_CACHE_DIR>/pythons/<sha256>` (a remote task: "
           "`.mfci-bootstrap/pythons/`).", UNUSED),
    Option("CONDA_SYS_DEFAULT_PACKAGES", {}, _sys_packages,
           "Virtual packages per arch, merged over the defaults "
           f"(`{json.dumps(DEFAULT_SYS_PACKAGES, separators=(',', ':'))}`): `__glibc` for linux "
           "archs sets the manylinux wheels accepted; `__osx` sets the macOS deployment target "
           "(README: Target archs); the conda solver sees them as virtual packages. Part of the "
           "spec ids of their own arch.",
           HONOURED, "`{\"linux-64\": {\"__glibc\": \"2.27\"}}` (2.27: `CONDA_OVERRIDE_GLIBC` when set), replacing the defaults"),
    Option("CONDA_SYS_DEFAULT_GPU_PACKAGES", {"__cuda": "11.8=0"}, _gpu_packages,
           "Virtual packages added for steps that ask for a GPU; part of their spec id.", HONOURED,
           "`{}` (a constant there, not read from the configuration)"),
    Option("CONDA_ALL_ARCHS", ["linux-64", "osx-64", "osx-arm64"], _archs,
           "Archs `mfci warm` targets when no `--arch` is given."),
    Option("CONDA_SRCS_AUTH_INFO", {}, _auth_info,
           "Credentials per host, `{\"host\": [\"user\", \"password\"]}`, for every index and channel "
           "on that host that names none itself: resolution and downloads alike (before netrc and "
           "the keyring). Never stored, logged or put on a command line.", secret=True),
    Option("CONDA_SYS_MARKERS", None, _optional_text, "Marker overrides per arch.", PLANNED, "`{}`"),
    Option("CONDA_REMOTE_COMMANDS", None, _optional_text,
           "Decorators that make a step remote; mfci asks Metaflow itself.", UNUSED, '`["batch", "kubernetes"]`'),
    Option("CONDA_BUILDER_ENV_PACKAGES", None, _optional_text,
           "Packages of a builder environment; mfci needs none.", UNUSED,
           "`[]` (`[\"keyrings.google-artifactregistry-auth\"]` with GOOGLE_APPLICATION_CREDENTIALS)"),
    Option("CONDA_IGNORE_CACHING_DATASTORES", None, _optional_text,
           "Datastores not to cache to; mfci always caches.", UNUSED, "`[]`"),
    Option("CONDA_MAGIC_FILE_V2", None, _optional_text,
           "The seed's local manifest; mfci keeps no manifest in the code package.", UNUSED, "`conda_v2.cnd`"),
    Option("CONDA_HACK_CHANNEL_ALIAS", None, _optional_text,
           "A channel alias the seed rewrites to conda.anaconda.org; mfci reads `.condarc`'s "
           "`channel_alias` instead.", UNUSED),
    Option("CONDA_TEST", None, _optional_text, "The seed's own test mode.", UNUSED, "`false`"),
    # --- mfci's own settings ---
    Option("CONDA_MFCI_PYTHON", "3.11", _python_version,
           "Python version for steps that do not pin one (warm's default `--python`, and what "
           "a run looks up).", group=MFCI),
    Option("CONDA_MFCI_STRICT", False, _flag,
           "1: a step whose environment was not warmed fails before it runs. "
           "0: such a step is resolved at launch, as `mfci warm` would, and published to the store "
           "(never Metaflow's own micromamba path).", group=MFCI),
    Option("CONDA_MFCI_SERVES", "mfci", _choice("mfci", "netflixext"),
           "With metaflow-netflixext installed too: which one serves `--environment=conda/pypi` and the "
           "@conda/@pypi/@named_env/... decorators. `mfci`: mfci (warmed environments, the seed's "
           "arguments); `netflixext`: the seed, unchanged (mfci's `mfci` commands still work). The "
           "launch says which one serves. Without netflixext, mfci serves.", group=MFCI),
    Option("CONDA_MFCI_CACHE_DIR", None, _optional_text,
           "Local cache of verified package files, unpacked interpreters and created environments. "
           "Unset: the user cache folder (`~/.cache/mfci` on Linux).", group=MFCI),
    Option("CONDA_MFCI_DISCOVERY_TIMEOUT", 180, _positive_int,
           "Seconds one flow file may take to report its steps.", group=MFCI),
    Option("CONDA_MFCI_UV_PROJECTS", True, _flag,
           "1: a flow that declares no @pypi/@conda under a pyproject.toml and uv.lock is a uv flow "
           "(`--environment=uv`) and is warmed from the lock. 0: such flows are skipped, for a "
           "repository that uses uv for itself but does not run its flows with the uv environment.",
           group=MFCI),
    Option("CONDA_MFCI_DISCOVERY", "fork", _choice("fork", "subprocess"),
           "How flows are run to report their steps. `fork`: one process imports Metaflow, each "
           "flow runs in a child forked from it, and results are kept (in the cache folder) until "
           "the flow, a file it reads or imports, or the settings change. `subprocess`: a fresh "
           "python per flow, nothing kept. Both give the same result.", group=MFCI),
    Option("CONDA_MFCI_STORE_TIMEOUT", 20, _positive_int,
           "Seconds one request to a cloud store may wait to connect, and for each read of its "
           "answer; requests are retried a few times, so no store call waits unbounded.", group=MFCI),
    Option("CONDA_MFCI_TOOL_TIMEOUT", 1800, _positive_int,
           "Seconds one run of a tool (uv, pip, a conda binary, a source build) may take.", group=MFCI),
    # --- Metaflow's own settings that mfci reads (Metaflow documents them) ---
    Option("USER", None, _optional_text,
           "Who publishes and looks up (else SUDO_USER, USERNAME, USER); used in store keys.",
           group=METAFLOW),
    Option("DEFAULT_DATASTORE", "local", _choice("local", "s3", "gs", "azure"),
           "Picks the store root setting (`CONDA_<DS>ROOT`) when no `--root` is given.", group=METAFLOW),
    Option("DATASTORE_SYSROOT_LOCAL", None, _optional_text,
           "With no CONDA_LOCALROOT, the store is `<this>/mfci`.", group=METAFLOW),
    Option("DATASTORE_SYSROOT_S3", None, _optional_text, "With no CONDA_S3ROOT, the store is `<this>/mfci`.",
           group=METAFLOW),
    Option("DATASTORE_SYSROOT_GS", None, _optional_text, "With no CONDA_GSROOT, the store is `<this>/mfci`.",
           group=METAFLOW),
    Option("DATASTORE_SYSROOT_AZURE", None, _optional_text,
           "With no CONDA_AZUREROOT, the store is `<this>/mfci`.", group=METAFLOW),
    Option("S3_ENDPOINT_URL", None, _optional_text, "S3 endpoint (else boto3's own AWS_ENDPOINT_URL).",
           group=METAFLOW),
    Option("AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", None, _optional_text,
           "Azure Blob endpoint, signed in with DefaultAzureCredential (when no "
           "AZURE_STORAGE_CONNECTION_STRING).", group=METAFLOW),
    Option("DEBUG_CONDA", False, _flag, "1: tracebacks on errors (as `--debug`).", group=METAFLOW),
)

BY_NAME = {option.name: option for option in OPTIONS}


def _read_json_file(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read Metaflow configuration {path}: {error}") from None
    return data if isinstance(data, dict) else {}


def _profile(environ: Mapping[str, str]) -> dict:
    home = Path(environ.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()
    profile = environ.get("METAFLOW_PROFILE")
    path = home / (f"config_{profile}.json" if profile else "config.json")
    if path.exists():
        return _read_json_file(path)
    if profile:
        raise UsageError(f"METAFLOW_PROFILE={profile}: no profile file {path}")
    return {}


def _local_config(cwd: Path) -> dict:
    for candidate in (cwd, *cwd.parents):
        path = candidate / ".metaflow" / "config.json"
        if path.is_file():
            return _read_json_file(path)
    return {}


def _username(configured: str | None, environ: Mapping[str, str]) -> str:
    """Who publishes or looks up, the way Metaflow names the user."""
    if configured:
        return user_name(configured)
    for variable in ("SUDO_USER", "USERNAME", "USER"):
        value = environ.get(variable)
        if value and value != "root":
            try:
                return user_name(value)
            except ValueError:
                continue
    return "unknown"


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed and checked, as one immutable value."""

    values: Mapping[str, Any]
    environ: Mapping[str, str] = field(repr=False)
    cwd: Path
    user: str
    metaflow_files: Mapping[str, Any] = field(default_factory=dict, repr=False)  # profile + local config

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> "Settings":
        """Read every setting once: environment, local config, profile, defaults."""
        environ = dict(os.environ if environ is None else environ)
        cwd = cwd or Path.cwd()
        local, profile = _local_config(cwd), _profile(environ)
        sources = (environ, local, profile)
        values = {}
        for option in OPTIONS:
            given = next((source[option.variable] for source in sources if option.variable in source), None)
            if given is None:
                values[option.name] = option.default
                continue
            try:
                values[option.name] = option.parse(given)
            except (ValueError, TypeError) as error:
                raise UsageError(f"{option.variable}={given!r}: {error}") from None
        try:
            user = _username(values["USER"], environ)
        except ValueError as error:
            raise UsageError(f"METAFLOW_USER={values['USER']!r}: {error}") from None
        settings = cls(values, environ, cwd, user, {**profile, **local})
        settings._register_secrets()
        return settings

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def _register_secrets(self) -> None:
        from .secrets import register, register_url

        for _user, password in self.values["CONDA_SRCS_AUTH_INFO"].values():
            register(password)
        for url in self.credentials_sources:
            register_url(url)
        for option in OPTIONS:
            if option.secret and isinstance(self.values[option.name], str) and self.values[option.name]:
                register(str(self.values[option.name]))
        register(self.environ.get("AZURE_STORAGE_CONNECTION_STRING"))

    # --- what the stages are built from -------------------------------------------------

    @cached_property
    def system_packages(self) -> dict:
        """CONDA_SYS_DEFAULT_PACKAGES merged over the defaults, arch by arch."""
        given = self.values["CONDA_SYS_DEFAULT_PACKAGES"]
        return {arch: {**DEFAULT_SYS_PACKAGES.get(arch, {}), **given.get(arch, {})} for arch in ALL_ARCHS}

    @cached_property
    def conda_config(self):
        """conda's own configuration (.condarc): channels and channel alias."""
        from .condarc import CondaConfig

        return CondaConfig.load(self.environ)

    @cached_property
    def conda_channels(self) -> tuple[str, ...]:
        """METAFLOW_CONDA_CHANNELS, else conda's own CONDA_CHANNELS, else .condarc's
        channels, else conda-forge."""
        configured = self.values["CONDA_CHANNELS"]
        if configured:
            return tuple(configured)
        if self.environ.get("CONDA_CHANNELS"):
            return tuple(_name_list(self.environ["CONDA_CHANNELS"]))
        return self.conda_config.channels or ("conda-forge",)

    @cached_property
    def credentials_sources(self) -> tuple[str, ...]:
        """Every configured index, find-links and channel location, as configured."""
        channels = [url for channel in self.conda_channels for url in self.conda_config.urls(channel)]
        return (*self.indexes.urls, *self.indexes.find_links, *channels, self.conda_config.channel_alias)

    @cached_property
    def indexes(self):
        from .indexes import index_config

        return index_config(dict(self.environ), self.cwd, self.values["CONDA_DEFAULT_PYPI_SOURCE"])

    @cached_property
    def credentials(self):
        from .auth import Credentials

        keyring = "keyring" if self.indexes.keyring == "subprocess" else None
        return Credentials.of(self.credentials_sources, self.environ.get("NETRC"), keyring, dict(self.environ),
                              self.values["CONDA_SRCS_AUTH_INFO"])

    @cached_property
    def layout(self):
        from .layout import Layout

        return Layout(packages=self.values["CONDA_PACKAGES_DIRNAME"], envs=self.values["CONDA_ENVS_DIRNAME"],
                      installers=self.values["CONDA_REMOTE_INSTALLER_DIRNAME"])

    @cached_property
    def policy(self):
        from .lookup import Policy

        return Policy.parse(self.values["CONDA_USE_REMOTE_LATEST"], self.user)

    @cached_property
    def spec_inputs(self):
        from .spec import SpecInputs

        return SpecInputs(
            default_python=self.values["CONDA_MFCI_PYTHON"],
            system_packages=self.system_packages,
            gpu_packages=self.values["CONDA_SYS_DEFAULT_GPU_PACKAGES"],
            pypi_index=self.values["CONDA_DEFAULT_PYPI_SOURCE"],
            channels=self.conda_channels,
        )

    @cached_property
    def cache_dir(self) -> Path:
        configured = self.values["CONDA_MFCI_CACHE_DIR"]
        if configured:
            return Path(configured).expanduser()
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("mfci"))

    @property
    def debug(self) -> bool:
        return self.values["DEBUG_CONDA"]

    def store_root(self, datastore: str | None = None) -> str:
        """The root for a Metaflow datastore type (default: METAFLOW_DEFAULT_DATASTORE): its
        CONDA_*ROOT + /mfci, else Metaflow's datastore root + /mfci (not the seed's /conda_env,
        so both tools can share a bucket); for local, else the user data folder."""
        datastore = datastore or self.values["DEFAULT_DATASTORE"]
        if datastore not in DATASTORE_ROOTS:
            raise UsageError(f"METAFLOW_DEFAULT_DATASTORE={datastore!r}: expected one of "
                             + ", ".join(DATASTORE_ROOTS))
        setting, sysroot = DATASTORE_ROOTS[datastore]
        if self.values[setting]:
            # The seed's own setting, and the seed keeps its objects right at that root (as its
            # documentation shows): mfci keeps its own under a sub-prefix, so the two tools never
            # write, read or verify each other's keys.
            return str(self.values[setting]).rstrip("/") + "/" + STORE_PREFIX
        if self.values[sysroot]:
            return str(self.values[sysroot]).rstrip("/") + "/mfci"
        if datastore == "local":
            from platformdirs import user_data_dir

            return os.path.join(user_data_dir("mfci"), "store")
        raise UsageError(f"no store root for the {datastore} datastore: set METAFLOW_{setting} "
                         f"or METAFLOW_{sysroot}, or pass --root")

    def open_store(self, root: str | None = None, datastore: str | None = None):
        """The store at --root, else at the datastore's root."""
        from .store import StoreSettings, open_store

        return open_store(root or self.store_root(datastore), StoreSettings.of(self))

    def shown(self) -> list[tuple[str, str]]:
        """(variable, effective value) of every honoured setting, secrets masked."""
        from .secrets import MASK, mask

        rows = []
        for option in OPTIONS:
            if option.status != HONOURED:
                continue
            value = self.values[option.name]
            if option.secret and value:
                value = ({host: [user, MASK] for host, (user, _) in value.items()} if isinstance(value, dict)
                         else mask(str(value)) if "://" in str(value) else MASK)
            elif isinstance(value, str) and "://" in value:
                value = mask(value)
            elif option.name == "CONDA_CHANNELS" and value:
                value = [mask(channel) for channel in value]
            rows.append((option.variable, repr(value)))
        return rows


DATASTORE_ROOTS = {
    "local": ("CONDA_LOCALROOT", "DATASTORE_SYSROOT_LOCAL"),
    "s3": ("CONDA_S3ROOT", "DATASTORE_SYSROOT_S3"),
    "gs": ("CONDA_GSROOT", "DATASTORE_SYSROOT_GS"),
    "azure": ("CONDA_AZUREROOT", "DATASTORE_SYSROOT_AZURE"),
}


def markdown_table() -> str:
    """The README configuration table."""
    rows = [
        "| Setting (`METAFLOW_` + name) | mfci default | Seed default | Honoured | What it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for option in OPTIONS:
        default = option.default
        shown = (
            "unset" if default in (None, {}) and option.name != "CONDA_SYS_DEFAULT_PACKAGES"
            else "see text" if option.name == "CONDA_SYS_DEFAULT_PACKAGES"
            else f"`{json.dumps(default) if isinstance(default, (list, dict, bool)) else default}`"
        )
        seed = option.seed_default or ("—" if option.group != SEED else "same")
        rows.append(f"| `{option.name}` | {shown} | {seed} | {option.status} | {option.help} |")
    return "\n".join(rows)
