"""Soak, on each emulated cloud: 20 warms of overlapping flows into one root through a proxy
that fails every fifth request, four at a time, with one of each four killed at a random
moment. Afterwards `mfci verify` is clean and every step's lookup is answered."""

import os
import random
import subprocess
import sys
import time

import emulators
from conftest import mfci, two_step_flow

ROUNDS, PER_ROUND = 5, 4
VERSIONS = ("1.16.0", "1.15.0", "1.14.0", "1.13.0")


def test_soak_with_kills_and_storage_faults(tmp_path, cloud):
    flows = [two_step_flow(tmp_path / "flows", f"soak_flow_{n}", f"SoakFlow{n}",
                           base=f'@pypi_base(packages={{"six": "{six}"}})') for n, six in enumerate(VERSIONS)]
    rng = random.Random(20)
    finished = 0
    with emulators.FaultyProxy(cloud.endpoint, every=5) as proxy:
        faulty = cloud.client_env(proxy.url)
        for _ in range(ROUNDS):
            processes = []
            for _ in range(PER_ROUND):
                chosen = rng.sample(flows, 2)
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "mfci", "warm", *map(str, chosen), "--arch", rng.choice(["linux-64", "osx-arm64"])],
                    env={**os.environ, **faulty}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(rng.uniform(0.5, 3.0))
            processes[rng.randrange(PER_ROUND)].kill()
            for process in processes:
                process.wait(timeout=300)
                finished += process.returncode == 0
        assert proxy.injected > 0
        final = mfci("warm", str(tmp_path / "flows"), "--arch", "linux-64", "--arch", "osx-arm64", env=faulty)
        assert final.returncode == 0, final.stderr
    assert finished >= 1  # kills land mid-warm or just after it; both must leave a sound store
    checked = mfci("verify")
    assert checked.returncode == 0, checked.stderr
    for flow in flows:
        for arch in ("linux-64", "osx-arm64"):
            for step in ("start", "end"):
                assert mfci("lookup", str(flow), "--step", step, "--arch", arch).returncode == 0
