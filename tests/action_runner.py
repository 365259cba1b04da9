"""Runs a composite action on this machine the way a GitHub runner does, step by step.

The runner's part that matters to the action is reproduced: inputs (with their defaults)
and `${{ }}` expressions substituted into `with:`, `env:` and outputs (never into `run:`,
which the action must not do), each `run:` step executed with `bash --noprofile --norc
-eo pipefail` in the workspace, the GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH /
GITHUB_STEP_SUMMARY files a step writes honoured for the steps after it, and the first
failing step failing the action. The one `uses:` step, actions/setup-python, is replaced
by the Python given (as its `python-path` output), as a hosted runner's toolcache would."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SETUP_PYTHON = "actions/setup-python@"


@dataclass
class ActionRun:
    returncode: int
    outputs: dict[str, str]
    summary: str
    stdout: str
    stderr: str
    path_entries: list[str] = field(default_factory=list)

    @property
    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def load_action(action_dir: Path) -> dict:
    return yaml.safe_load((action_dir / "action.yml").read_text())


def evaluate(expression: str, contexts: dict) -> str:
    """The subset of GitHub's expression language actions here use: dotted context
    references, quoted strings and `a || b`."""
    for alternative in expression.split("||"):
        term = alternative.strip()
        if term.startswith("'") and term.endswith("'"):
            value = term[1:-1].replace("''", "'")
        else:
            value = contexts
            for name in term.split("."):
                value = value.get(name, "") if isinstance(value, dict) else ""
        if value:
            return str(value)
    return ""


def substitute(text: str, contexts: dict) -> str:
    return EXPRESSION.sub(lambda match: evaluate(match[1], contexts), str(text))


def read_command_file(path: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as the runner reads them."""
    values, lines = {}, path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            values[name] = "\n".join(lines[index + 1:end])
            index = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        index += 1
    return values


def run_action(action_dir: Path, inputs: dict[str, str], *, workspace: Path, runner_temp: Path,
               python: str, env: dict[str, str] | None = None, timeout: int = 900) -> ActionRun:
    action = load_action(action_dir)
    given = {name: str(spec.get("default", "")) for name, spec in action.get("inputs", {}).items()}
    unknown = set(inputs) - set(given)
    assert not unknown, f"the action has no input {unknown}"
    files = runner_temp / "_runner_files"
    files.mkdir(parents=True, exist_ok=True)
    env_file, path_file = files / "env", files / "path"
    for file in (env_file, path_file):
        file.write_text("")
    contexts = {"github": {"action_path": str(action_dir), "workspace": str(workspace)},
                "runner": {"temp": str(runner_temp)}, "steps": {}, "env": {}}
    # Input defaults may themselves be expressions (of the github context).
    contexts["inputs"] = {name: substitute(value, contexts) for name, value in {**given, **inputs}.items()}
    base_env = {**os.environ, **(env or {}), "GITHUB_ACTIONS": "true", "GITHUB_ACTION_PATH": str(action_dir),
                "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(runner_temp),
                "GITHUB_ENV": str(env_file), "GITHUB_PATH": str(path_file)}
    stdout, stderr, summaries, returncode = [], [], [], 0
    for number, step in enumerate(action["runs"]["steps"]):
        step_outputs = {}
        if "uses" in step:
            assert step["uses"].startswith(SETUP_PYTHON), f"no stand-in for {step['uses']}"
            step_outputs = {"python-path": python}
        else:
            script = step["run"]
            assert "${{" not in script, f"step {step.get('name')}: an expression inside run:"
            assert step.get("shell") == "bash", "composite run steps need shell: bash"
            output_file, summary_file = files / f"output-{number}", files / f"summary-{number}"
            output_file.write_text("")
            summary_file.write_text("")
            path_entries = [p for p in path_file.read_text().splitlines() if p]
            step_env = {**base_env, **read_command_file(env_file),
                        **{name: substitute(value, contexts) for name, value in step.get("env", {}).items()},
                        "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file),
                        "PATH": os.pathsep.join([*reversed(path_entries), base_env.get("PATH", "")])}
            script_file = files / f"step-{number}.sh"
            script_file.write_text(script)
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
                                  cwd=workspace, env=step_env, capture_output=True, text=True, timeout=timeout)
            stdout.append(done.stdout)
            stderr.append(done.stderr)
            summaries.append(summary_file.read_text())
            step_outputs = read_command_file(output_file)
            returncode = done.returncode
        if "id" in step:
            contexts["steps"][step["id"]] = {"outputs": step_outputs}
        if returncode:
            break
    outputs = {name: substitute(spec.get("value", ""), contexts) for name, spec in action.get("outputs", {}).items()}
    return ActionRun(returncode, outputs, "".join(summaries), "".join(stdout), "".join(stderr),
                     [p for p in path_file.read_text().splitlines() if p])
