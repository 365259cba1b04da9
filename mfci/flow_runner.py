"""Discovery's pre-imported Metaflow: import it once, then fork one child per flow file.

`python flow.py … mfci dump` spends most of its time importing Metaflow (and its
extensions). This process, started by `discover` with the scrubbed environment, imports
Metaflow once and forks a child per flow, so each flow pays only for its own code. Every
child is still its own process: its own session and process group (killed whole on
timeout), working directory = the flow's folder, stdin closed, output to a log file.

A child also records what its result depends on — files it opened or imported, folders it
listed, environment variables it read — so that `discovery_cache` can reuse the result
until one of them changes.

Protocol: one JSON request on stdin ({"jobs", "timeout", "flows": [FLOW...]}); one JSON
line per finished flow on stdout ({"index", "returncode", "timed_out"}). Run as
`python -m mfci.flow_runner`; POSIX only (os.fork). A request {"flow": FLOW} runs that one
flow in this process instead (discovery's `subprocess` mode: a fresh python per flow).

FLOW is {"file", "output", "log", "depends", "about", "configs"}: where the dump, the
flow's output, what it used and what it is (its class and Configs, written before
Metaflow's command line runs, so that a failure can name them) go, and the `--config` /
`--config-value` pairs ([option, name, value]) to give it. A flow gets only the pairs
that name one of its own Configs: Metaflow refuses any other name.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

POLL_SECONDS = 0.005


def dump_arguments(output: str, configs: list = ()) -> list[str]:
    """The flow command line discovery runs, after the flow file's name: Metaflow's top-level
    options (the Configs among them) come before the `mfci dump` command."""
    options = [part for option, name, value in configs for part in (f"--{option}", name, value)]
    return ["--quiet", "--no-pylint", "--environment=pypi", *options, "mfci", "dump", "--output", output]


def declared_configs(flow_class) -> dict[str, bool]:
    """The flow's Configs: name -> whether it has a default."""
    return {parameter.name: parameter.kwargs.get("default") is not None
            for _, parameter in flow_class._get_parameters() if getattr(parameter, "IS_CONFIG_PARAMETER", False)}


def _at_flow_start(flow: dict) -> None:
    """When the flow file instantiates its flow, before Metaflow reads its command line:
    record what the flow is and give it the Configs it declares."""
    from metaflow import FlowSpec

    original = FlowSpec.__init__

    def start(self, use_cli=True):
        if use_cli:
            FlowSpec.__init__ = original
            try:
                configs = declared_configs(type(self))
            except Exception:  # a Metaflow without Configs: nothing to give
                configs = {}
            given = [entry for entry in flow.get("configs", ()) if entry[1] in configs]
            with open(flow["about"], "w") as handle:
                json.dump({"flow": type(self).__name__, "configs": configs}, handle)
            sys.argv = [sys.argv[0], *dump_arguments(flow["output"], given)]
        original(self, use_cli)

    FlowSpec.__init__ = start


class DependencyRecorder:
    """Paths opened or listed and environment variables read, from the moment it starts."""

    def __init__(self):
        self.files: set[str] = set()
        self.folders: set[str] = set()
        self.variables: set[str] = set()
        self.modules_before = set(sys.modules)

    def start(self) -> None:
        sys.addaudithook(self._audit)
        environ_class = type(os.environ)
        read = environ_class.__getitem__
        contains = environ_class.__contains__
        recorder = self

        # os.environ has no audit event: record the names this child looks up (get,
        # getenv and `in` all go through these two).
        def recorded_read(mapping, key):
            recorder.variables.add(str(key))
            return read(mapping, key)

        def recorded_contains(mapping, key):
            recorder.variables.add(str(key))
            return contains(mapping, key)

        environ_class.__getitem__ = recorded_read
        environ_class.__contains__ = recorded_contains

    def _audit(self, event: str, arguments: tuple) -> None:
        if event == "open" and isinstance(arguments[0], (str, bytes)):
            self.files.add(os.path.abspath(os.fsdecode(arguments[0])))
        elif event in ("os.listdir", "os.scandir"):
            folder = arguments[0] if arguments and arguments[0] is not None else "."
            if isinstance(folder, (str, bytes)):
                self.folders.add(os.path.abspath(os.fsdecode(folder)))

    def result(self) -> dict:
        imported = {getattr(sys.modules[name], "__file__", None) for name in set(sys.modules) - self.modules_before}
        files = self.files | {os.path.abspath(path) for path in imported if isinstance(path, str)}
        return {"files": sorted(files), "folders": sorted(self.folders), "variables": sorted(self.variables)}


def run_flow(flow: dict) -> int:
    """Run the flow file as `python flow.py … mfci dump` would, in this process."""
    import runpy

    log = os.open(flow["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    path = os.path.abspath(flow["file"])
    folder, name = os.path.split(path)
    os.chdir(folder)
    sys.path[0] = folder  # what `python flow.py` puts first
    sys.argv = [name, *dump_arguments(flow["output"])]
    recorder = DependencyRecorder()
    recorder.start()
    try:
        _at_flow_start(flow)
        runpy.run_path(name, run_name="__main__")
        code = 0
    except SystemExit as done:  # as python itself exits: a message means status 1
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    except BaseException:  # the flow's own error: reported like python's, as the plain path does
        import traceback

        traceback.print_exc()
        code = 1
    with open(flow["depends"], "w") as handle:
        json.dump(recorder.result(), handle)
    return code


def serve(request: dict) -> None:
    pending = list(enumerate(request["flows"]))
    running: dict[int, tuple[int, float]] = {}   # pid -> (index, deadline)
    jobs, timeout = max(1, request["jobs"]), request["timeout"]

    def report(index: int, returncode: int, timed_out: bool = False) -> None:
        sys.stdout.write(json.dumps({"index": index, "returncode": returncode, "timed_out": timed_out}) + "\n")
        sys.stdout.flush()

    def stop_all(*_):
        for pid in running:
            _kill_group(pid)
        os._exit(1)

    signal.signal(signal.SIGTERM, stop_all)
    while pending or running:
        while pending and len(running) < jobs:
            index, flow = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.setsid()
                    code = run_flow(flow)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            running[pid] = (index, time.monotonic() + timeout)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            index, _ = running.pop(pid)
            report(index, os.waitstatus_to_exitcode(status))
            continue
        now = time.monotonic()
        for pid, (index, deadline) in list(running.items()):
            if now > deadline:
                _kill_group(pid)
                os.waitpid(pid, 0)
                del running[pid]
                report(index, -signal.SIGKILL, timed_out=True)
        time.sleep(POLL_SECONDS)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main() -> None:
    request = json.loads(sys.stdin.read())
    if "flow" in request:
        code = run_flow(request["flow"])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)   # as a forked child leaves: threads the flow started do not hold it
    # What every flow imports first, once for all of them: Metaflow and its plugins (which
    # load the installed extensions). Not metaflow.cli: it reads the flow when imported.
    import metaflow  # noqa: F401

    serve(request)


if __name__ == "__main__":
    main()
