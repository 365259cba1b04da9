"""The action's main step: runs `mfci warm`, `mfci check` or `mfci manifest merge` with
--json as the inputs ask, then writes the step outputs, the job summary and the
annotations, and exits with mfci's own status (0 all good, 1 something failed, 2 usage).
In check mode on a pull request it then runs `mfci diff` against the pull request's base:
its markdown goes to the job summary and, given a token, to the pull request's one comment;
whatever becomes of that, the job's status stays the check's.

Inputs arrive as MFCI_* environment variables (never interpolated into a script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import annotation, annotations, outputs, summary  # noqa: E402

COMMANDS = {"warm": ["warm"], "check": ["check"], "merge": ["manifest", "merge"]}


def mfci_command(mode: str, env: dict[str, str]) -> list[str]:
    if mode not in COMMANDS:
        raise ValueError(f"input mode is {mode!r}; expected warm, check or merge")
    shard = env.get("MFCI_SHARD", "").strip()
    if shard and mode != "warm":
        raise ValueError(f"input shard applies to mode warm only (mode is {mode})")
    command = [sys.executable, "-m", "mfci", *COMMANDS[mode], "--json"]
    if env.get("MFCI_ROOT", "").strip():
        command += ["--root", env["MFCI_ROOT"].strip()]
    if mode == "merge":
        return command
    command += env.get("MFCI_PATH", ".").split() or ["."]
    for arch in env.get("MFCI_ARCHS", "").split():
        command += ["--arch", arch]
    for glob in env.get("MFCI_EXCLUDE", "").split():
        command += ["--exclude", glob]
    for option, variable, what in (("--config", "MFCI_CONFIG", "PATH"), ("--config-value", "MFCI_CONFIG_VALUE", "VALUE")):
        for line in env.get(variable, "").splitlines():
            if line.strip():
                name, _, value = line.strip().partition(" ")
                if not value.strip():
                    raise ValueError(f"input {option[2:]}: {line.strip()!r} is not \"NAME {what}\"")
                command += [option, name, value.strip()]
    return command + (["--shard", shard] if shard else [])


def diff_command(check: list[str], base: str, comment: bool) -> list[str]:
    """`mfci diff` over what the check covered (the same paths and options) against `base`."""
    interpreter, options = check[:3], check[5:]   # past `check --json`
    return [*interpreter, "diff", *options, "--base", base] + (["--comment"] if comment else [])


def pull_request_base(env: dict[str, str]) -> str | None:
    """The base commit of the pull request the workflow runs for, else None."""
    try:
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
        sha = event["pull_request"]["base"]["sha"]
    except (KeyError, OSError, ValueError, TypeError):
        return None
    return sha if isinstance(sha, str) and sha else None


def environment_diff(check: list[str], env: dict[str, str]) -> None:
    base = pull_request_base(env)
    if base is None or env.get("MFCI_DIFF", "true").strip().lower() != "true":
        return
    token = env.get("MFCI_GITHUB_TOKEN", "").strip()
    command = diff_command(check, base, comment=bool(token))
    print(f"mfci: running mfci {' '.join(command[3:])}", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**env, **({"GITHUB_TOKEN": token} if token else {})})
    sys.stderr.write(done.stderr)
    if done.stdout.strip():
        append("GITHUB_STEP_SUMMARY", "\n" + done.stdout)
    said = [line for line in done.stderr.splitlines() if line.startswith("mfci diff: warning: ")]
    if not done.stdout.strip():
        said.append(f"mfci diff exited {done.returncode}: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    for line in said:
        print(annotation(None, "mfci diff", line.removeprefix("mfci diff: warning: "), level="warning"), flush=True)


def append(variable: str, text: str) -> None:
    with open(os.environ[variable], "a", encoding="utf-8") as file:
        file.write(text)


def main() -> int:
    env = dict(os.environ)
    mode = env.get("MFCI_MODE", "warm").strip()
    try:
        command = mfci_command(mode, env)
    except ValueError as error:
        print(annotation(None, "mfci", str(error)))
        return 2
    if env.get("MFCI_USE_REMOTE_LATEST", "").strip():
        env["METAFLOW_CONDA_USE_REMOTE_LATEST"] = env["MFCI_USE_REMOTE_LATEST"].strip()
    print(f"mfci: running mfci {' '.join(command[3:])}", file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:   # usage errors print one line on stderr, no JSON
        append("GITHUB_STEP_SUMMARY", summary(mode, {}, failure=f"mfci exited {done.returncode}: see the step log"))
        print(annotation(None, "mfci", f"mfci {mode} exited {done.returncode}; see the step log"))
        return done.returncode or 1
    result["shard"] = env.get("MFCI_SHARD", "").strip()
    append("GITHUB_OUTPUT", "".join(f"{name}={value}\n" for name, value in outputs(result).items()))
    append("GITHUB_STEP_SUMMARY", summary(mode, result))
    for line in annotations(mode, result, env.get("GITHUB_WORKSPACE", os.getcwd())):
        print(line, flush=True)
    if mode == "check":
        environment_diff(command, env)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
