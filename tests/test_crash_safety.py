"""kill -9 at any point of a warm leaves a store `mfci verify` finds clean, and the next
warm completes; untrusted flows are timed out whole; concurrent creates build once."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import mfci, two_step_flow


@pytest.fixture
def flows(tmp_path):
    for n, six in enumerate(("1.16.0", "1.15.0")):
        two_step_flow(tmp_path / "flows", f"crash_flow_{n}", f"CrashFlow{n}",
                      base=f'@pypi_base(packages={{"six": "{six}"}})')
    return tmp_path / "flows"


def assert_clean_then_complete(flows):
    checked = mfci("verify")
    assert checked.returncode == 0, checked.stderr
    done = mfci("warm", str(flows), "--arch", "linux-64")
    assert done.returncode == 0, done.stderr
    assert mfci("verify").returncode == 0
    for n in (0, 1):
        assert mfci("lookup", str(flows / f"crash_flow_{n}.py"), "--step", "end", "--arch", "linux-64").returncode == 0


@pytest.mark.parametrize("point", ["package-stored:3", "record-published", "pointer-updated:2", "manifest-merged"])
def test_kill_at_each_publish_step(flows, point):
    killed = mfci("warm", str(flows), "--arch", "linux-64", env={"MFCI_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL
    assert_clean_then_complete(flows)


def test_kill_at_random_moments(flows):
    rng = random.Random(7)
    for _ in range(4):  # bounded: four kills, each within a few seconds
        process = subprocess.Popen([sys.executable, "-m", "mfci", "warm", str(flows), "--arch", "osx-arm64"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        process.kill()
        process.wait(timeout=30)
        assert mfci("verify").returncode == 0
    assert_clean_then_complete(flows)


def test_a_hanging_flow_is_killed_with_everything_it_started(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    two_step_flow(tmp_path / "flows", "hang_flow", "HangFlow", header=(
        "import subprocess, time\n"
        f"child = subprocess.Popen(['sleep', '300'])\nopen({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(300)"))
    started = time.monotonic()
    done = mfci("warm", "flows", "--arch", "linux-64", env={"METAFLOW_CONDA_MFCI_DISCOVERY_TIMEOUT": "3"})
    assert done.returncode == 1 and "timed out after 3s" in done.stderr
    assert time.monotonic() - started < 120
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # bounded wait for the kernel to reap it
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the flow's own child process survived the timeout")


def test_discovery_sees_no_cloud_credentials(tmp_path):
    seen = tmp_path / "seen.txt"
    two_step_flow(tmp_path / "flows", "peek_flow", "PeekFlow", header=(
        "import os\n"
        f"open({str(seen)!r}, 'w').write(' '.join(sorted(k for k in os.environ if 'SECRET' in k or k.startswith('AWS_'))))"))
    done = mfci("warm", "flows", "--arch", "linux-64",
                env={"AWS_SECRET_ACCESS_KEY": "x", "AWS_ACCESS_KEY_ID": "y", "MY_API_SECRET": "z"})
    assert done.returncode == 0, done.stderr
    assert seen.read_text() == ""


def test_two_concurrent_creates_build_once(tmp_path, flows):
    assert mfci("warm", str(flows), "--arch", "linux-64").returncode == 0
    prefix = tmp_path / "env"
    command = [sys.executable, "-m", "mfci", "create", str(flows / "crash_flow_0.py"), "--step", "end",
               "--prefix", str(prefix)]
    first, second = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2))
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == second.returncode == 0, outputs
    assert outputs[0][0] == outputs[1][0]
    states = sorted("built" if " built" in err else "already there" for _, err in outputs)
    assert states == ["already there", "built"]
