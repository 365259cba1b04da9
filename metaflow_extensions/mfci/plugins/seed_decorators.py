"""The seed's (metaflow-netflixext's) decorator surface on top of Metaflow's own.

@conda/@conda_base and @pypi/@pypi_base are Metaflow's classes with the seed's extra
arguments; @named_env, @sys_packages and @pip (and their *_base forms) are the seed's
other decorators. Registered under the same names as Metaflow's (mfextinit_mfci), so a
flow written for the seed loads unchanged, and a flow using only Metaflow's arguments
behaves exactly as before.

Nothing is resolved here: the decorators only check their arguments (an unknown one or a
contradiction is one error naming the step and the argument) and carry them;
`seed_request` turns them into the step's request.
"""

from metaflow.decorators import FlowDecorator, StepDecorator
from metaflow.exception import MetaflowException
from metaflow.plugins.pypi.conda_decorator import CondaFlowDecorator, CondaStepDecorator
from metaflow.plugins.pypi.pypi_decorator import PyPIFlowDecorator, PyPIStepDecorator
from metaflow.user_configs.config_parameters import UNPACK_KEY

ENVIRONMENTS = ("conda", "pypi")
NAMED = {"name": None, "pathspec": None, "fetch_at_exec": None}
CONDA_ARGUMENTS = {"channels": [], "pip_packages": {}, "pip_sources": [], **NAMED}
PYPI_ARGUMENTS = {"extra_indices": [], "extras": [], "conda_only": {}, "sources": [], **NAMED}
# The arguments that ask for packages (or where they come from): a step that uses a named
# environment as it was published cannot also ask for these.
PACKAGE_ARGUMENTS = ("packages", "libraries", "channels", "pip_packages", "pip_sources", "extra_indices",
                     "extras", "conda_only", "sources", "python")


class SeedDecoratorError(MetaflowException):
    headline = "Invalid environment decorator"


class SeedArguments:
    """Mixed into each decorator: remembers what the user wrote on this very decorator (before
    Metaflow merges a flow-level one into it) and keeps unknown arguments until the step is
    known, so that the error names both."""

    def __init__(self, attributes=None, statically_defined=False, inserted_by=None):
        given = dict(attributes or {})
        known = {k: v for k, v in given.items() if k in self.defaults or k.startswith(UNPACK_KEY)}
        self._unknown = sorted(set(given) - set(known))
        # Only what is written in the flow's source: a decorator Metaflow attached (and hands
        # to a task as a spec with every attribute) asked for nothing itself.
        self._given = {k for k in known if not k.startswith(UNPACK_KEY)} if statically_defined else set()
        super().__init__(known if attributes is not None else None, statically_defined, inserted_by)

    def _where(self, step=None):
        return f"step '{step}'" if step else "the flow"

    def check_arguments(self, step=None):
        where = self._where(step)
        if self._unknown:
            raise SeedDecoratorError(
                f"{where}: @{self.name} has no argument '{self._unknown[0]}' "
                f"(it takes: {', '.join(k for k in self.defaults)})")
        named = [k for k in ("name", "pathspec") if self.attributes.get(k)]
        if len(named) == 2:
            raise SeedDecoratorError(f"{where}: @{self.name} takes either 'name' or 'pathspec', not both")
        if named:
            extra = [k for k in PACKAGE_ARGUMENTS if k in self._given]
            if extra:
                raise SeedDecoratorError(
                    f"{where}: @{self.name}({named[0]}=...) uses a named environment as it was published; "
                    f"'{extra[0]}' cannot be given with it")
        elif self.attributes.get("fetch_at_exec"):
            raise SeedDecoratorError(f"{where}: @{self.name}(fetch_at_exec=True) needs 'name' or 'pathspec'")


def _check_environment(decorator, environment, step=None):
    if environment.TYPE not in ENVIRONMENTS:
        raise SeedDecoratorError(f"{decorator._where(step)}: @{decorator.name} needs --environment=conda "
                                 "or --environment=pypi")


def _merge_from_base(decorator, base):
    """The seed's arguments of a flow-level decorator, under the step's own: lists add up,
    package maps merge with the step's versions winning, anything else only when the step
    left it unset."""
    for key, default in decorator.defaults.items():
        if key not in base.attributes or key in ("packages", "libraries", "python", "disabled"):
            continue  # Metaflow's own arguments: merged by Metaflow itself
        mine, theirs = decorator.attributes.get(key), base.attributes.get(key)
        if isinstance(default, list):
            decorator.attributes[key] = list(dict.fromkeys([*(theirs or []), *(mine or [])]))
        elif isinstance(default, dict):
            decorator.attributes[key] = {**(theirs or {}), **(mine or {})}
        elif mine is None:
            decorator.attributes[key] = theirs


def _flow_base(flow, *names):
    for name in names:
        found = flow._flow_decorators.get(name)
        if found:
            return found[0]
    return None


class MfciCondaStepDecorator(SeedArguments, CondaStepDecorator):
    __doc__ = CondaStepDecorator.__doc__
    defaults = {**CondaStepDecorator.defaults, **CONDA_ARGUMENTS}

    def init(self):  # Metaflow calls only an init defined on the class itself
        super().init()

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        self.check_arguments(step)
        base = _flow_base(flow, "conda_base")
        if base is not None:
            _merge_from_base(self, base)
        super().step_init(flow, graph, step, decos, environment, flow_datastore, logger)

    def task_pre_step(self, step_name, task_datastore, meta, run_id, task_id, flow, graph, retry_count,
                      max_retries, ubf_context, inputs):
        super().task_pre_step(step_name, task_datastore, meta, run_id, task_id, flow, graph, retry_count,
                              max_retries, ubf_context, inputs)
        if not self.disabled:
            from .task_environment import enter_environment

            enter_environment(meta, run_id, step_name, task_id, retry_count)

    def runtime_task_created(self, task_datastore, task_id, split_index, input_paths, is_cloned, ubf_context):
        if not self.disabled and hasattr(self.environment, "place_at_exec"):
            # A step whose named environment is looked up when its task starts: now.
            self.environment.place_at_exec(self.step, task_id, input_paths, self.datastore)
        super().runtime_task_created(task_datastore, task_id, split_index, input_paths, is_cloned, ubf_context)


class MfciCondaFlowDecorator(SeedArguments, CondaFlowDecorator):
    __doc__ = CondaFlowDecorator.__doc__
    defaults = {**CondaFlowDecorator.defaults, **CONDA_ARGUMENTS}

    def init(self):  # Metaflow calls only an init defined on the class itself
        super().init()

    def flow_init(self, flow, graph, environment, flow_datastore, metadata, logger, echo, options):
        self.check_arguments()
        super().flow_init(flow, graph, environment, flow_datastore, metadata, logger, echo, options)


class MfciPyPIStepDecorator(SeedArguments, PyPIStepDecorator):
    __doc__ = PyPIStepDecorator.__doc__
    defaults = {**PyPIStepDecorator.defaults, **PYPI_ARGUMENTS}

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        self.check_arguments(step)
        base = _flow_base(flow, "pypi_base", "pip_base")
        if base is not None:
            if base.name == "pip_base" and "pypi_base" not in flow._flow_decorators:
                # Metaflow merges only a @pypi_base; the seed's @pip_base is the same thing.
                self.attributes["packages"] = {**base.attributes["packages"], **self.attributes["packages"]}
                self.attributes["python"] = self.attributes["python"] or base.attributes["python"]
                if self.attributes["disabled"] is None:
                    self.attributes["disabled"] = base.attributes["disabled"]
                self._attributes_with_user_values.update(base._attributes_with_user_values)
            _merge_from_base(self, base)
        super().step_init(flow, graph, step, decos, environment, flow_datastore, logger)


class MfciPyPIFlowDecorator(SeedArguments, PyPIFlowDecorator):
    __doc__ = PyPIFlowDecorator.__doc__
    defaults = {**PyPIFlowDecorator.defaults, **PYPI_ARGUMENTS}

    def flow_init(self, flow, graph, environment, flow_datastore, metadata, logger, echo, options):
        self.check_arguments()
        super().flow_init(flow, graph, environment, flow_datastore, metadata, logger, echo, options)


class PipStepDecorator(MfciPyPIStepDecorator):
    """The seed's older name for @pypi (same arguments)."""

    name = "pip"

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        others = [d for d in decos if d is not self and d.name == "pypi"]
        user_pypi = [d for d in others if getattr(d, "statically_defined", False)]
        if user_pypi:
            raise SeedDecoratorError(f"step '{step}': @pip and @pypi are the same decorator; keep one")
        if others:
            # A @pypi a flow-level decorator attached: this one's arguments are the step's own.
            attached = others[0]
            for key in self._given:
                value = self.attributes[key]
                attached.attributes[key] = ({**attached.attributes[key], **value} if isinstance(value, dict)
                                            else value)
                attached._given.add(key)
                attached._attributes_with_user_values.add(key)
            self.check_arguments(step)
            return
        self.name = "pypi"  # Metaflow reads a step's environment from its @pypi/@conda
        super().step_init(flow, graph, step, decos, environment, flow_datastore, logger)


class PipFlowDecorator(MfciPyPIFlowDecorator):
    """The seed's older name for @pypi_base."""

    name = "pip_base"


class NamedEnvStepDecorator(SeedArguments, StepDecorator):
    """The step runs in a named environment: `name` (an mfci alias NAME[:TAG]; `@{VAR}` is
    replaced by that environment variable) or `pathspec` (FLOW/RUN/STEP: the environment that
    step ran in). `fetch_at_exec`: look the name up when the task starts, not at launch.

    Parameters
    ----------
    name : str, optional, default None
    pathspec : str, optional, default None
    fetch_at_exec : bool, default False
    disabled : bool, default None
    """

    name = "named_env"
    defaults = {**NAMED, "disabled": None}

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        self.check_arguments(step)
        _check_environment(self, environment, step)
        base = _flow_base(flow, "named_env_base")
        if base is not None:
            _merge_from_base(self, base)
        for other in decos:
            given = [k for k in PACKAGE_ARGUMENTS if k in getattr(other, "_given", ())]
            if other.name in ("conda", "pypi", "pip") and given:
                raise SeedDecoratorError(
                    f"step '{step}': @named_env uses a named environment as it was published; "
                    f"@{other.name}('{given[0]}') cannot be added to it")


class NamedEnvFlowDecorator(SeedArguments, FlowDecorator):
    """Every step runs in this named environment unless it says otherwise (see @named_env)."""

    name = "named_env_base"
    defaults = {**NAMED, "disabled": None}

    def flow_init(self, flow, graph, environment, flow_datastore, metadata, logger, echo, options):
        self.check_arguments()
        _check_environment(self, environment)


class SysPackagesStepDecorator(SeedArguments, StepDecorator):
    """System (virtual) packages the step's environment is resolved for, such as
    `{"__cuda": "12.1"}`: they win over CONDA_SYS_DEFAULT_PACKAGES.

    Parameters
    ----------
    packages : Dict[str, str], default {}
    disabled : bool, default None
    """

    name = "sys_packages"
    defaults = {"packages": {}, "disabled": None}

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        self.check_arguments(step)
        _check_environment(self, environment, step)
        base = _flow_base(flow, "sys_packages_base")
        if base is not None:
            self.attributes["packages"] = {**base.attributes["packages"], **self.attributes["packages"]}


class SysPackagesFlowDecorator(SeedArguments, FlowDecorator):
    """System (virtual) packages for every step (see @sys_packages)."""

    name = "sys_packages_base"
    defaults = {"packages": {}, "disabled": None}

    def flow_init(self, flow, graph, environment, flow_datastore, metadata, logger, echo, options):
        self.check_arguments()
        _check_environment(self, environment)
