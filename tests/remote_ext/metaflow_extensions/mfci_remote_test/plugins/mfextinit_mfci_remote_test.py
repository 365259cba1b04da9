# Test-only Metaflow extension: a step decorator that makes a step remote the way
# @kubernetes/@batch do, and a flow command printing the shell script a remote task of
# that step would run (Metaflow's own extract/export lines + the environment's bootstrap).
STEP_DECORATORS_DESC = [("fake_remote", ".fake_remote.FakeRemoteDecorator")]
CLIS_DESC = [("remotetest", ".fake_remote.cli")]
