# Same names as Metaflow's own environments: mfci's replace them, TYPE unchanged, so
# @conda/@pypi keep working and look up what `mfci warm` published first.
ENVIRONMENTS_DESC = [
    ("conda", ".mfci_environment.MfciCondaEnvironment"),
    ("pypi", ".mfci_environment.MfciPyPIEnvironment"),
]
# `python flow.py mfci dump`: the step requests exactly as Metaflow sees them.
CLIS_DESC = [("mfci", ".mfci_cli.cli")]
