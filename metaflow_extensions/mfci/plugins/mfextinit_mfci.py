from .serving import MFCI, serving

# `python flow.py mfci dump`: the step requests exactly as Metaflow sees them.
CLIS_DESC = [("mfci", ".mfci_cli.cli")]

if serving() == MFCI:
    # Same names as Metaflow's own environments and decorators (and the seed's): mfci's
    # replace them, TYPE and arguments unchanged, so @conda/@pypi keep working, take the
    # seed's arguments too, and look up what `mfci warm` published first. Metaflow's uv
    # environment is replaced too: its steps are built from the store as well.
    ENVIRONMENTS_DESC = [
        ("conda", ".mfci_environment.MfciCondaEnvironment"),
        ("pypi", ".mfci_environment.MfciPyPIEnvironment"),
        ("uv", ".mfci_environment.MfciUvEnvironment"),
    ]
    STEP_DECORATORS_DESC = [
        ("conda", ".seed_decorators.MfciCondaStepDecorator"),
        ("pypi", ".seed_decorators.MfciPyPIStepDecorator"),
        ("mfci_uv", ".uv_task.UvStepDecorator"),
        ("pip", ".seed_decorators.PipStepDecorator"),
        ("named_env", ".seed_decorators.NamedEnvStepDecorator"),
        ("sys_packages", ".seed_decorators.SysPackagesStepDecorator"),
    ]
    FLOW_DECORATORS_DESC = [
        ("conda_base", ".seed_decorators.MfciCondaFlowDecorator"),
        ("pypi_base", ".seed_decorators.MfciPyPIFlowDecorator"),
        ("pip_base", ".seed_decorators.PipFlowDecorator"),
        ("named_env_base", ".seed_decorators.NamedEnvFlowDecorator"),
        ("sys_packages_base", ".seed_decorators.SysPackagesFlowDecorator"),
    ]
else:
    # metaflow-netflixext serves: its environment, with one line saying so at launch.
    ENVIRONMENTS_DESC = [("conda", ".seed_serves.NetflixextServes")]
