"""metaflow-netflixext serves the conda environment (CONDA_MFCI_SERVES=netflixext): its own
class, unchanged but for the line saying who serves at launch."""

from metaflow_extensions.netflixext.plugins.conda.conda_environment import (
    CondaEnvironment,
)

from .serving import SEED, notice


class NetflixextServes(CondaEnvironment):
    TYPE = "conda"

    def init_environment(self, echo, *args, **kwargs):
        echo(notice(SEED))
        return super().init_environment(echo, *args, **kwargs)
