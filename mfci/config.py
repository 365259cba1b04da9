"""Every setting mfci reads, in one place, read the way Metaflow reads its own.

A setting NAME is looked up as METAFLOW_NAME in the environment, then in the nearest
`.metaflow/config.json` above the working directory, then in the Metaflow profile
($METAFLOW_HOME/config.json or config_$METAFLOW_PROFILE.json), then its default.
The seed's CONDA_* names keep their meaning where mfci honours them; mfci's own
settings are CONDA_MFCI_* so that Metaflow forwards them to remote tasks.

README's configuration table is generated from OPTIONS (see `mfci config --markdown`);
a test keeps the two in step.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .errors import UsageError

ALL_ARCHS = ("linux-64", "osx-64", "osx-arm64", "linux-aarch64")

# Honoured: mfci reads it. Planned: a later issue makes mfci read it. Unused: it
# configures a binary or a mode mfci does not have, and is ignored on purpose.
HONOURED, PLANNED, UNUSED = "yes", "not yet", "no"


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


def _json_object(value: Any) -> dict:
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object")
    return parsed


def _name_list(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        parsed = json.loads(text) if text.startswith("[") else text.split(",")
    else:
        parsed = value
    if not isinstance(parsed, list):
        raise ValueError("must be a JSON list or a comma-separated list")
    return [str(item).strip() for item in parsed if str(item).strip()]


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if text not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return text

    return parse


def _remote_latest(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must be :none:, :username:, :any: or a comma-separated user list")
    return text


def _default_glibc() -> str:
    return os.environ.get("CONDA_OVERRIDE_GLIBC") or "2.27"


def _default_sys_packages() -> dict:
    glibc = _default_glibc()
    return {
        "linux-64": {"__glibc": glibc, "__unix": "0"},
        "linux-aarch64": {"__glibc": glibc, "__unix": "0"},
        "osx-64": {"__osx": "10.13", "__unix": "0"},
        "osx-arm64": {"__osx": "11.0", "__unix": "0"},
    }


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    status: str = HONOURED
    seed_default: str | None = None  # shown when mfci's default differs from the seed's

    @property
    def variable(self) -> str:
        return "METAFLOW_" + self.name

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


OPTIONS: tuple[Option, ...] = (
    # --- the seed's (netflixext) settings, in its documentation's order ---
    Option("CONDA_S3ROOT", None, _optional_text,
           "Store root on S3 (`s3://bucket/prefix`) when Metaflow's datastore is `s3`. Unset: "
           "`<DATASTORE_SYSROOT_S3>/mfci`.", HONOURED, "`<DATASTORE_SYSROOT_S3>/conda_env`"),
    Option("CONDA_AZUREROOT", None, _optional_text,
           "Store root on Azure Blob (`azure://container/prefix`) when Metaflow's datastore is "
           "`azure`. Unset: `<DATASTORE_SYSROOT_AZURE>/mfci`.", HONOURED,
           "`<DATASTORE_SYSROOT_AZURE>/conda_env`"),
    Option("CONDA_GSROOT", None, _optional_text,
           "Store root on Google Cloud Storage (`gs://bucket/prefix`) when Metaflow's datastore is "
           "`gs`. Unset: `<DATASTORE_SYSROOT_GS>/mfci`.", HONOURED, "`<DATASTORE_SYSROOT_GS>/conda_env`"),
    Option("CONDA_LOCALROOT", None, _optional_text,
           "Store root on a local or shared filesystem. Unset: `<DATASTORE_SYSROOT_LOCAL>/mfci`, "
           "else the user data folder (`~/.local/share/mfci/store` on Linux).",
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
           "`CONDA_CHANNELS` environment variable, else `conda-forge`. Credentials in URLs are "
           "used but never stored or logged."),
    Option("CONDA_PACKAGES_DIRNAME", "packages", _text,
           "Folder under the store root holding every package file."),
    Option("CONDA_ENVS_DIRNAME", "envs", _text,
           "Folder under the store root holding environment records and pointers."),
    Option("CONDA_REMOTE_INSTALLER_DIRNAME", "remote-installers", _text,
           "Folder under the store root holding the installers remote workers fetch "
           "(uv, and py-rattler for conda, for each Linux target arch).", HONOURED, "unset (download micromamba)"),
    Option("CONDA_REMOTE_INSTALLER", None, _optional_text,
           "Name of a micromamba binary; mfci installs with uv and py-rattler instead.", UNUSED),
    Option("CONDA_PREFERRED_FORMAT", "none", _choice(".conda", ".tar.bz2", "none"),
           "Conda archive format to install: when set, the store also keeps that format, "
           "converted (conda-package-streaming) when the channel has only the other."),
    Option("CONDA_USE_REMOTE_LATEST", ":any:", _remote_latest,
           "Which published environment a lookup takes: `:any:` (the latest published by "
           "anyone, usually CI), `:username:` (the latest you published), `user1,user2` (the "
           "latest published by one of them), `:none:` (only environments this machine already "
           "used; never a store pointer).", HONOURED, "`:none:`"),
    Option("CONDA_DEFAULT_PYPI_SOURCE", None, _optional_text,
           "PyPI index URL to resolve against. Unset: your uv (or pip) configuration. "
           "Credentials in it are used but never stored or logged."),
    Option("CONDA_LOCK_TIMEOUT", 3600, _positive_int,
           "Seconds to wait for another process building the same environment."),
    Option("CONDA_LOCAL_DIST_DIRNAME", None, _optional_text,
           "Folder of conda distribution tarballs; mfci needs no conda distribution.", UNUSED),
    Option("CONDA_LOCAL_DIST", None, _optional_text, "Conda distribution tarball name.", UNUSED),
    Option("CONDA_LOCAL_PATH", None, _optional_text, "Where a conda distribution is installed.",
           UNUSED),
    Option("CONDA_SYS_DEFAULT_PACKAGES", _default_sys_packages, _json_object,
           "Virtual packages per arch, merged over the defaults: `__glibc` (from "
           "CONDA_OVERRIDE_GLIBC, else 2.27) for linux archs sets the manylinux wheels accepted; "
           "`__osx` (10.13 for osx-64, 11.0 for osx-arm64) sets the macOS deployment target; "
           "`__unix` for all four. The conda solver sees them as virtual packages. "
           "Part of every spec id.", HONOURED, "`{\"linux-64\": {\"__glibc\": \"2.27\"}}`"),
    Option("CONDA_SYS_DEFAULT_GPU_PACKAGES", {"__cuda": "11.8=0"}, _json_object,
           "Virtual packages added for steps that ask for a GPU; part of their spec id."),
    Option("CONDA_ALL_ARCHS", ["linux-64", "osx-64", "osx-arm64"], _name_list,
           "Archs `mfci warm` targets when no `--arch` is given."),
    Option("CONDA_SRCS_AUTH_INFO", None, _optional_text,
           "Per-host credentials for downloads. Not read yet: downloads use the credentials in "
           "CONDA_DEFAULT_PYPI_SOURCE (for its host) and ~/.netrc.", PLANNED),
    Option("CONDA_SYS_MARKERS", None, _optional_text, "Marker overrides per arch.", PLANNED),
    Option("CONDA_REMOTE_COMMANDS", None, _optional_text,
           "Decorators that make a step remote; mfci asks Metaflow itself.", UNUSED),
    Option("CONDA_BUILDER_ENV_PACKAGES", None, _optional_text,
           "Packages of a builder environment; mfci needs none.", UNUSED),
    Option("CONDA_IGNORE_CACHING_DATASTORES", None, _optional_text,
           "Datastores not to cache to; mfci always caches.", UNUSED),
    Option("CONDA_MAGIC_FILE_V2", None, _optional_text,
           "The seed's local manifest; mfci keeps no manifest in the code package.", UNUSED),
    # --- mfci's own settings ---
    Option("CONDA_MFCI_PYTHON", "3.11", _text,
           "Python version for steps that do not pin one (warm's default `--python`, and what "
           "a run looks up)."),
    Option("CONDA_MFCI_STRICT", False, _flag,
           "1: a step whose environment was not warmed fails before it runs. "
           "0: such a step falls back to Metaflow's own @pypi/@conda."),
    Option("CONDA_MFCI_CACHE_DIR", None, _optional_text,
           "Local cache of verified package files and created environments. "
           "Unset: the user cache folder (`~/.cache/mfci` on Linux)."),
    Option("CONDA_MFCI_DISCOVERY_TIMEOUT", 180, _positive_int,
           "Seconds one flow file may take to report its steps."),
    Option("CONDA_MFCI_DISCOVERY", "fork", _choice("fork", "subprocess"),
           "How flows are run to report their steps. `fork`: one process imports Metaflow, each "
           "flow runs in a child forked from it, and results are kept (in the cache folder) until "
           "the flow, a file it reads or imports, or the settings change. `subprocess`: a fresh "
           "python per flow, nothing kept. Both give the same result."),
)

_BY_NAME = {option.name: option for option in OPTIONS}


def _read_json_file(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read Metaflow configuration {path}: {error}") from None
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=1)
def _profile() -> dict:
    home = Path(os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()
    profile = os.environ.get("METAFLOW_PROFILE")
    path = home / (f"config_{profile}.json" if profile else "config.json")
    if path.exists():
        return _read_json_file(path)
    if profile:
        raise UsageError(f"METAFLOW_PROFILE={profile}: no profile file {path}")
    return {}


@lru_cache(maxsize=1)
def _local_config() -> dict:
    directory = Path.cwd()
    for candidate in (directory, *directory.parents):
        path = candidate / ".metaflow" / "config.json"
        if path.is_file():
            return _read_json_file(path)
    return {}


def raw(variable: str) -> Any:
    """A METAFLOW_* value as Metaflow would find it, unparsed (None when unset)."""
    if variable in os.environ:
        return os.environ[variable]
    local = _local_config()
    if variable in local:
        return local[variable]
    return _profile().get(variable)


def get(name: str) -> Any:
    """The parsed value of a setting; a malformed value is a UsageError naming it."""
    option = _BY_NAME[name]
    value = raw(option.variable)
    if value is None:
        return option.default_value()
    try:
        parsed = option.parse(value)
    except (ValueError, TypeError) as error:
        raise UsageError(f"{option.variable}={value!r}: {error}") from None
    if name == "CONDA_SYS_DEFAULT_PACKAGES":
        parsed = {**option.default_value(), **parsed}
    return parsed


def check_all() -> None:
    """Read every honoured setting once, so a malformed one fails any command up front."""
    for option in OPTIONS:
        if option.status == HONOURED:
            get(option.name)


def reset() -> None:
    """Forget cached profile files (tests change METAFLOW_HOME between cases)."""
    _profile.cache_clear()
    _local_config.cache_clear()


def conda_channels() -> list[str]:
    """METAFLOW_CONDA_CHANNELS, else conda's own CONDA_CHANNELS, else conda-forge."""
    configured = get("CONDA_CHANNELS")
    if configured:
        return configured
    return _name_list(os.environ["CONDA_CHANNELS"]) if os.environ.get("CONDA_CHANNELS") else ["conda-forge"]


def username() -> str:
    """Who publishes or looks up, the way Metaflow names the user."""
    for value in (raw("METAFLOW_USER"), *(os.environ.get(v) for v in ("SUDO_USER", "USERNAME", "USER"))):
        if value and value != "root":
            return str(value)
    return "unknown"


def cache_dir() -> Path:
    configured = get("CONDA_MFCI_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mfci"))


def markdown_table() -> str:
    """The README configuration table."""
    rows = [
        "| Setting (`METAFLOW_` + name) | mfci default | Seed default | Honoured | What it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for option in OPTIONS:
        default = option.default_value() if not callable(option.default) else None
        shown = (
            "see text" if callable(option.default)
            else "unset" if default is None
            else f"`{json.dumps(default) if isinstance(default, (list, dict)) else default}`"
        )
        seed = option.seed_default or ("—" if option.name.startswith("CONDA_MFCI_") else "same")
        rows.append(f"| `{option.name}` | {shown} | {seed} | {option.status} | {option.help} |")
    return "\n".join(rows)
