"""What the seed's decorator arguments add to a step's request (see step_request).

    channels     @conda/@conda_base(channels=...)                 searched before CONDA_CHANNELS
    indexes      @pypi(extra_indices=, sources=), @conda(pip_sources=)   extra PyPI indexes
    options      @pypi(extras=["pre"])                            resolver options
    conda        + @pypi(conda_only=...)                          conda packages under PyPI ones
    pypi         + @conda(pip_packages=...)                       PyPI packages under conda ones
    system       @sys_packages / @sys_packages_base               virtual packages (__cuda, __glibc)
    named        @named_env(_base), @conda/@pypi(name=, pathspec=, fetch_at_exec=)
                 the step uses a published environment instead of its own
"""

from .seed_decorators import PACKAGE_ARGUMENTS

NAMED_KEYS = ("name", "pathspec", "fetch_at_exec")


def _attributes(decorator, key, default=None):
    return decorator.attributes.get(key, default) if decorator is not None else default


def _named(flow, decorators) -> dict | None:
    """The named environment a step uses: its own @named_env, else a deprecated name= on its
    @conda/@pypi, else the flow's @named_env_base when the step asks for no packages itself."""
    candidates = [decorators.get("named_env"), decorators.get("conda"), decorators.get("pypi")]
    asks_packages = any(k in getattr(d, "_given", ()) for d in candidates[1:] if d for k in PACKAGE_ARGUMENTS)
    if not asks_packages:
        candidates += (flow._flow_decorators.get("named_env_base") or [None])[:1]
    for decorator in candidates:
        if decorator is not None and (_attributes(decorator, "name") or _attributes(decorator, "pathspec")):
            if str(_attributes(decorator, "disabled")).lower() == "true":
                return None
            return {"name": _attributes(decorator, "name"), "pathspec": _attributes(decorator, "pathspec"),
                    "fetch_at_exec": bool(_attributes(decorator, "fetch_at_exec"))}
    return None


def _system(flow, decorators) -> dict:
    step = decorators.get("sys_packages")
    if step is not None:
        return dict(step.attributes.get("packages") or {})
    base = (flow._flow_decorators.get("sys_packages_base") or [None])[0]
    return dict(_attributes(base, "packages") or {})


def seed_request(flow, step, request: dict) -> dict:
    """The request with the seed's arguments of the step's decorators folded in."""
    if not request.get("uses_environment"):
        return request
    decorators = {d.name: d for d in step.decorators}
    conda, pypi = decorators.get("conda"), decorators.get("pypi")
    extended = dict(request)
    named = _named(flow, decorators)
    if named:
        extended.update(named=named, declared=True)
        return extended
    conda_only = dict(_attributes(pypi, "conda_only") or {})
    pip_packages = dict(_attributes(conda, "pip_packages") or {})
    if conda_only:
        extended["conda"] = {**(extended.get("conda") or {}), **conda_only}
    if pip_packages:
        extended["pypi"] = {**(extended.get("pypi") or {}), **pip_packages}
    extras = {
        "channels": list(_attributes(conda, "channels") or []),
        "indexes": list(dict.fromkeys([*(_attributes(pypi, "extra_indices") or []),
                                       *(_attributes(pypi, "sources") or []),
                                       *(_attributes(conda, "pip_sources") or [])])),
        "options": _resolver_options(step.name, _attributes(pypi, "extras") or []),
        "system": _system(flow, decorators),
    }
    extended.update({key: value for key, value in extras.items() if value})
    if conda_only or pip_packages or any(extras.values()):
        extended["declared"] = True
    return extended


def _resolver_options(step: str, extras) -> list[str]:
    """@pypi(extras=[...]): the resolver options the seed passes on; mfci knows `pre`."""
    options = [str(option).lstrip("-") for option in extras]
    unknown = [option for option in options if option != "pre"]
    if unknown:
        raise ValueError(f"step '{step}': @pypi extras {unknown[0]!r} is not an option mfci knows (it takes: pre)")
    return options


def request_of(environment, step) -> dict:
    """A step's full request: Metaflow's (step_request) with the seed's arguments."""
    from .step_request import step_request

    return seed_request(environment.flow, step, step_request(environment, step))


def task_variables(flow, step_name, task_id, input_paths, flow_datastore) -> dict:
    """What `@{...}` may name when a task starts, as in the seed: the run, step and task ids
    and the flow's parameters (METAFLOW_INIT_<NAME>)."""
    run_id, parent_step, parent_task = (input_paths[0].split("/") + ["", "", ""])[:3]
    variables = {"METAFLOW_RUN_ID": run_id, "METAFLOW_RUN_ID_BASE": run_id, "METAFLOW_STEP_NAME": step_name,
                 "METAFLOW_TASK_ID": str(task_id)}
    parameters = [(name, p) for name, p in flow._get_parameters() if not getattr(p, "IS_CONFIG_PARAMETER", False)]
    if parameters and parent_task:
        parent = flow_datastore.get_task_datastore(run_id, parent_step, parent_task)
        for name, _ in parameters:
            try:
                variables["METAFLOW_INIT_" + name.upper().replace("-", "_")] = str(parent[name])
            except (KeyError, AttributeError):
                continue  # not an artifact of that task: @{} naming it says so
    return variables
