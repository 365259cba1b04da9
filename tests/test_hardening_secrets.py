"""No secret leaves its place: index and channel credentials reach their hosts and nothing
else — not a redirected host, not an id, record, key, log or command line, not flow code."""

import json

from conftest import (
    mfci,
    mfci_json,
    serve,
    settings,
    simple_index,
    two_step_flow,
)

SECRET = "TOPSECRET-pw-7781"


def no_secret_anywhere(*texts, store_root=None):
    for text in texts:
        assert SECRET not in text
    for path in (store_root.rglob("*") if store_root else ()):
        assert SECRET not in str(path)
        if path.is_file() and path.suffix == ".json":
            assert SECRET not in path.read_text()


def test_credentials_do_not_follow_a_redirect_to_another_host(tmp_path, store_root, index_wheels):
    """A private index whose files live on a CDN (or an object store): it gets the password,
    the CDN never does — from uv's resolution or from mfci's downloads."""
    index = simple_index(tmp_path / "index", index_wheels)
    cdn_seen, index_seen = [], []
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    with serve(index, seen=cdn_seen) as cdn, \
            serve(index, credentials=f"ci:{SECRET}", redirect={"/files/": cdn}, seen=index_seen) as url:
        private = url.replace("http://", f"http://ci:{SECRET}@") + "/simple"
        done, out = mfci_json("resolve", "-r", "requirements.txt", "--arch", "linux-64",
                              env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": private})
    assert done.returncode == 0, done.stderr
    assert any(path.startswith("/files/") for path, _ in cdn_seen)       # the CDN served the wheel
    assert all(auth is None for _, auth in cdn_seen)                     # and never saw the password
    assert any(auth for _, auth in index_seen)
    no_secret_anywhere(done.stdout, done.stderr, store_root=store_root)


def test_a_channel_token_stays_out_of_ids_records_keys_and_output(tmp_path, store_root, conda_channel):
    two_step_flow(tmp_path / "flows", "token_flow", "TokenFlow", start='@conda(packages={"six": ""})')
    outcomes = []
    rotated = "rotated-token-0042"
    with serve(conda_channel, prefix=(f"/t/{SECRET}", f"/t/{rotated}")) as url:
        for token, root in ((SECRET, store_root), (rotated, tmp_path / "second")):
            env = {"METAFLOW_CONDA_CHANNELS": f"{url}/t/{token}",
                   "METAFLOW_CONDA_MFCI_CACHE_DIR": str(root) + "-cache"}
            done, out = mfci_json("warm", "flows", "--arch", "linux-64", "--root", str(root), env=env)
            assert done.returncode == 0, done.stderr
            looked = mfci("lookup", "flows/token_flow.py", "--step", "start", "--arch", "linux-64", "--json",
                          "--root", str(root), env=env)
            assert looked.returncode == 0, looked.stderr
            outcomes.append((out, looked.stdout, done.stderr))
    (first, lookup_json, log), (second, _, _) = outcomes
    no_secret_anywhere(json.dumps(first), lookup_json, log, store_root=store_root)
    assert all(p["url"].startswith(url + "/noarch/") or p["url"].startswith(url + "/linux-64/")
               for p in json.loads(lookup_json)["packages"])
    # A rotated token changes no spec id and no environment id.
    assert [(e["spec_id"], e["env_id"]) for e in first["envs"]] == [(e["spec_id"], e["env_id"]) for e in second["envs"]]


def test_config_masks_secrets_and_tools_never_see_them_in_argv(tmp_path, monkeypatch, index_wheels):
    index = simple_index(tmp_path / "index", index_wheels)
    with serve(index, credentials=f"ci:{SECRET}") as url:
        private = url.replace("http://", f"http://ci:{SECRET}@") + "/simple"
        shown = mfci("config", env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": private,
                                    "METAFLOW_CONDA_CHANNELS": f"https://conda.anaconda.org/t/{SECRET}/team"})
        assert shown.returncode == 0 and "****" in shown.stdout, shown.stderr
        assert SECRET not in shown.stdout + shown.stderr

        import mfci.io.process as process_module
        from mfci.cli._progress import Reporter
        from mfci.spec import StepRequirement, build_spec
        from mfci.warm import Warmer

        commands = []
        real = process_module.subprocess.Popen

        class Recording(real):
            def __init__(self, args, *rest, **kwargs):
                commands.append(" ".join(map(str, args)))
                super().__init__(args, *rest, **kwargs)

        monkeypatch.setattr(process_module.subprocess, "Popen", Recording)
        monkeypatch.setenv("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", private)
        loaded = settings()
        spec = build_spec(StepRequirement("f.py", "F", "s", pypi={"six": "1.16.0"}), loaded.spec_inputs, "linux-64")
        outcome = Warmer(loaded, loaded.open_store(), Reporter(quiet=True)).warm_one(spec, "linux-64", 2)
    assert outcome.status == "resolved"
    assert any(" pip compile " in command for command in commands)
    assert all(SECRET not in command for command in commands)


def test_flow_code_sees_no_credential_while_discovered(tmp_path):
    profile = tmp_path / "metaflow-home" / "config.json"
    profile.write_text(json.dumps({"METAFLOW_SERVICE_AUTH_KEY": f"svc-{SECRET}",
                                   "METAFLOW_SERVICE_HEADERS": {"x-api-key": f"hdr-{SECRET}"}}))
    spy = tmp_path / "seen.json"
    two_step_flow(tmp_path / "flows", "spy_flow", "SpyFlow", base='@pypi_base(packages={"six": "1.16.0"})',
                  header=f"""import json, os
from metaflow import metaflow_config as mc
json.dump({{"environ": dict(os.environ), "auth": str(mc.SERVICE_AUTH_KEY), "headers": str(mc.SERVICE_HEADERS)}},
          open({str(spy)!r}, "w"))""")
    env = {"AWS_SECRET_ACCESS_KEY": f"aws-{SECRET}", "GITHUB_TOKEN": f"gh-{SECRET}",
           "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": f"https://ci:{SECRET}@pypi.org/simple",
           "PIP_INDEX_URL": f"https://ci:{SECRET}@pypi.org/simple"}
    for mode in ("fork", "subprocess"):
        spy.unlink(missing_ok=True)
        done = mfci("check", "flows", "--arch", "linux-64", env={**env, "METAFLOW_CONDA_MFCI_DISCOVERY": mode})
        assert done.returncode == 1 and "missing:" in done.stderr, done.stderr  # discovered, not published
        seen = spy.read_text()
        assert SECRET not in seen, mode
        assert json.loads(seen)["environ"]["METAFLOW_CONDA_DEFAULT_PYPI_SOURCE"] == "https://pypi.org/simple"
