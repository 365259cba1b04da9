"""py-rattler has crashed interpreters at exit after index/solve/install: mfci's exit
status must stay the one it decided, whatever native threads are still around."""

import subprocess
import sys

import pytest

SCRIPT = """
import asyncio, pathlib, sys, tempfile
from rattler.index import index_fs
channel = pathlib.Path(tempfile.mkdtemp())
(channel / "noarch").mkdir()
asyncio.run(index_fs(channel))
sys.argv = ["mfci", *sys.argv[1:]]
from mfci.cli import main
main()
"""


@pytest.mark.parametrize("args,expected", [(["config"], 0), (["warm", "--arch", "sparc"], 2)])
def test_exit_status_survives_rattler(args, expected):
    codes = {subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True).returncode
             for _ in range(8)}
    assert codes == {expected}
