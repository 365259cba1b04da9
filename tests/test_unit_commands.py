"""Fast unit layer: aliases published for several archs in one operation, --refresh,
--upgrade-package and --dry-run of a warm, conda's .condarc, the seed's
CONDA_SRCS_AUTH_INFO, and the tools' URLs carrying the downloads' credentials."""

import hashlib
import json

import pytest
from memory_store import FakeResolver, FakeResolvers, MemoryStore

from mfci.alias import Alias, publish_alias
from mfci.auth import Credentials
from mfci.cli._progress import Reporter
from mfci.config import Settings
from mfci.errors import UsageError, WorkError
from mfci.layout import Layout
from mfci.lookup import find_by_alias, read_alias
from mfci.objects import EnvRef
from mfci.record import PackageFile
from mfci.spec import StepRequirement, build_spec
from mfci.status import Status
from mfci.warm import Warmer, WarmMode

LAYOUT = Layout()
A, B, C = (EnvRef(f"{n:064x}", f"{n:032x}") for n in (1, 2, 3))


def test_an_alias_takes_several_archs_at_once_and_keeps_the_others():
    store = MemoryStore()
    publish_alias(store, LAYOUT, Alias.parse("team/env"), {"linux-64": A}, "ci")
    publish_alias(store, LAYOUT, Alias.parse("team/env"), {"osx-arm64": B, "osx-64": C}, "ci")  # later, other archs
    assert read_alias(store, LAYOUT, Alias.parse("team/env")).envs == {"linux-64": A, "osx-arm64": B, "osx-64": C}
    publish_alias(store, LAYOUT, Alias.parse("team/env"), {"linux-64": C}, "ci")   # a movable tag moves
    assert read_alias(store, LAYOUT, Alias.parse("team/env")).envs["linux-64"] == C


def test_an_immutable_tag_takes_new_archs_but_never_changes_one():
    store, v1 = MemoryStore(), Alias.parse("team/env:v1")
    publish_alias(store, LAYOUT, v1, {"linux-64": A}, "ci")
    publish_alias(store, LAYOUT, v1, {"osx-arm64": B}, "ci")             # the same spec on a second arch
    publish_alias(store, LAYOUT, v1, {"linux-64": A, "osx-arm64": B}, "ci")  # again: nothing to do
    with pytest.raises(WorkError, match="immutable.*on linux-64"):
        publish_alias(store, LAYOUT, v1, {"linux-64": C, "osx-64": C}, "ci")
    assert read_alias(store, LAYOUT, v1).envs == {"linux-64": A, "osx-arm64": B}   # nothing half-done


def wheel_file(tmp_path, name, version) -> PackageFile:
    path = tmp_path / f"{name}-{version}-py3-none-any.whl"
    path.write_bytes(f"{name} {version}".encode())
    return PackageFile(name, version, "pypi", path.as_uri(), path.name, hashlib.sha256(path.read_bytes()).hexdigest(),
                       path.stat().st_size, f"pypi/local/{path.name}")


@pytest.fixture
def warm_parts(tmp_path):
    settings = Settings.load({"METAFLOW_HOME": str(tmp_path), "METAFLOW_USER": "ci",
                              "METAFLOW_CONDA_MFCI_CACHE_DIR": str(tmp_path / "cache")})
    spec = build_spec(StepRequirement("f.py", "F", "s", pypi={"requests": ""}), settings.spec_inputs, "linux-64")
    old = [wheel_file(tmp_path, "requests", "2.31.0"), wheel_file(tmp_path, "idna", "3.4")]
    new = [wheel_file(tmp_path, "requests", "2.31.0"), wheel_file(tmp_path, "idna", "3.10")]
    return settings, MemoryStore(), spec, old, new


def warmer(settings, store, resolver, **mode):
    return Warmer(settings, store, Reporter(quiet=True), FakeResolvers(resolver), mode=WarmMode.of(**{
        "refresh": False, "upgrade": None, "dry_run": False, **mode}))


def test_refresh_resolves_again_and_the_pointer_moves_forward(warm_parts):
    settings, store, spec, old, new = warm_parts
    first = warmer(settings, store, FakeResolver(old)).warm_one(spec, "linux-64", 2)
    again = warmer(settings, store, FakeResolver(new)).warm_one(spec, "linux-64", 2)
    refreshed = warmer(settings, store, FakeResolver(new), refresh=True).warm_one(spec, "linux-64", 2)
    assert (first.status, again.status, refreshed.status) == (Status.RESOLVED, Status.HIT, Status.RESOLVED)
    latest = json.loads(store.objects[LAYOUT.latest(spec.spec_id, "linux-64")])
    assert latest["env_id"] == refreshed.env_id != first.env_id


def test_upgrade_package_prefers_the_previous_pins_of_what_holds_it(warm_parts):
    settings, store, spec, old, new = warm_parts
    warmer(settings, store, FakeResolver(old)).warm_one(spec, "linux-64", 2)
    resolver = FakeResolver(new)
    upgraded = warmer(settings, store, resolver, upgrade=["IDNA"]).warm_one(spec, "linux-64", 2)
    [prefer] = resolver.calls
    assert upgraded.status == Status.RESOLVED and prefer.upgrade == ("idna",)
    assert [p.name for p in prefer.kept("pypi")] == ["requests"]           # every other pin is kept
    untouched = FakeResolver(new)
    assert warmer(settings, store, untouched, upgrade=["numpy"]).warm_one(spec, "linux-64", 2).status == Status.HIT
    assert untouched.calls == []                                            # nothing holds numpy: a hit


def test_dry_run_writes_nothing(warm_parts):
    settings, store, spec, old, _ = warm_parts
    resolver = FakeResolver(old)
    outcome = warmer(settings, store, resolver, dry_run=True).warm_one(spec, "linux-64", 2)
    assert outcome.status == Status.WOULD_RESOLVE and store.objects == {} and resolver.calls == []
    warmer(settings, store, resolver).warm_one(spec, "linux-64", 2)
    before = dict(store.objects)
    assert warmer(settings, store, resolver, dry_run=True, refresh=True).warm_one(spec, "linux-64", 2).status == \
        Status.WOULD_RESOLVE and store.objects == before


def test_find_by_alias_reads_every_arch_published_in_one_call(warm_parts):
    settings, store, spec, old, _ = warm_parts
    outcome = warmer(settings, store, FakeResolver(old)).warm_one(spec, "linux-64", 2)
    publish_alias(store, LAYOUT, Alias.parse("x"), {"linux-64": EnvRef(spec.spec_id, outcome.env_id), "osx-64": A}, "ci")
    assert find_by_alias(store, LAYOUT, Alias.parse("x"), "linux-64").env_id == outcome.env_id


# --- conda's own configuration, the seed's per-host credentials ---------------------------

def test_condarc_channels_alias_and_defaults_in_condas_order(tmp_path):
    home = tmp_path / "home"
    (home / ".config" / "conda").mkdir(parents=True)
    (home / ".config" / "conda" / ".condarc").write_text("channels: [bioconda]\nchannel_alias: https://old.example\n")
    (home / ".condarc").write_text("channels: [conda-forge, defaults]\nchannel_alias: https://mirror.example/conda/\n"
                                   "default_channels: [https://repo.example/main]\n")
    settings = Settings.load({"HOME": str(home), "METAFLOW_HOME": str(tmp_path)})
    assert settings.conda_channels == ("conda-forge", "defaults", "bioconda")   # a later file's come first
    config = settings.conda_config
    assert config.urls("conda-forge") == ("https://mirror.example/conda/conda-forge",)
    assert config.urls("defaults") == ("https://repo.example/main",)
    assert config.urls("https://x.example/chan") == ("https://x.example/chan",)
    overridden = Settings.load({"HOME": str(home), "METAFLOW_HOME": str(tmp_path), "CONDA_CHANNEL_ALIAS": "https://e.example",
                                "METAFLOW_CONDA_CHANNELS": "team"})
    assert overridden.conda_channels == ("team",) and overridden.conda_config.urls("team") == ("https://e.example/team",)


def test_a_malformed_condarc_exits_2_naming_it(tmp_path):
    (tmp_path / "condarc").write_text("channels: [\n")
    with pytest.raises(UsageError, match="condarc"):
        Settings.load({"CONDARC": str(tmp_path / "condarc"), "METAFLOW_HOME": str(tmp_path)}).conda_channels


def test_srcs_auth_info_is_the_seeds_shape_masked_and_used_for_tools_and_downloads(tmp_path):
    info = json.dumps({"private.example.org": ["ci", "auth-pw-8080"]})
    settings = Settings.load({"METAFLOW_CONDA_SRCS_AUTH_INFO": info, "METAFLOW_HOME": str(tmp_path)})
    shown = dict(settings.shown())["METAFLOW_CONDA_SRCS_AUTH_INFO"]
    assert "auth-pw-8080" not in shown and "ci" in shown
    credentials = settings.credentials
    assert credentials.for_tool("https://private.example.org/simple") == "https://ci:auth-pw-8080@private.example.org/simple"
    assert credentials.request("https://private.example.org/files/x.whl")[1]["Authorization"].startswith("Basic ")
    assert credentials.for_tool("https://other.example.org/simple") == "https://other.example.org/simple"
    for bad in ('{"h": "user"}', '{"https://h": ["u", "p"]}', "[1]"):
        with pytest.raises(UsageError, match="METAFLOW_CONDA_SRCS_AUTH_INFO"):
            Settings.load({"METAFLOW_CONDA_SRCS_AUTH_INFO": bad, "METAFLOW_HOME": str(tmp_path)})


def test_a_files_own_sources_join_the_credentials():
    base = Credentials.of(["https://pypi.org/simple"])
    credentials = base.with_sources(["https://u:pw-77@files.example.org/simple", "https://c.example/t/tok-9/chan"])
    assert credentials.configured("https://files.example.org/simple") == "https://u:pw-77@files.example.org/simple"
    assert credentials.for_tool("https://c.example/chan") == "https://c.example/t/tok-9/chan"
    assert credentials.request("https://c.example/chan/noarch/x.conda")[0] == "https://c.example/t/tok-9/chan/noarch/x.conda"
    assert base.configured("https://files.example.org/simple") == "https://files.example.org/simple"   # unchanged


def test_every_command_module_is_declared_under_its_own_name():
    import importlib
    from pathlib import Path

    from mfci.cli import COMMANDS

    modules = sorted(path.stem for path in Path(importlib.import_module("mfci.cli").__file__).parent.glob("*_cmd.py"))
    assert sorted(COMMANDS.values()) == modules
    for name, module in COMMANDS.items():
        assert importlib.import_module(f"mfci.cli.{module}").NAME == name
