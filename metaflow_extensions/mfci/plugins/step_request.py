"""One step's environment request, read off Metaflow's own objects after step_init.

Shared by the `mfci dump` flow command (discovery in CI) and the runtime environment,
so warm and run compute exactly the same request.
"""

GPU_DECORATORS = ("resources", "batch", "kubernetes")
REMOTE_DECORATORS = ("batch", "kubernetes", "nvidia", "snowpark", "slurm", "nvct", "skypilot_step")


def _user_set(decorator, name):
    check = getattr(decorator, "is_attribute_user_defined", None)
    return bool(check and check(name))


def remote_arch(step):
    for decorator in step.decorators:
        if getattr(decorator, "supports_conda_environment", False) or decorator.name in REMOTE_DECORATORS:
            return getattr(decorator, "target_platform", None) or "linux-64"
    return None


def step_request(environment, step):
    """A JSON-able dict: pypi/conda packages, pinned python, gpu, remote arch."""
    decorators = {d.name: d for d in step.decorators}
    pypi_deco, conda_deco = decorators.get("pypi"), decorators.get("conda")
    declared = any(
        getattr(d, "_attributes_with_user_values", None) for d in (pypi_deco, conda_deco) if d
    )
    request = environment.get_environment(step)
    if not request:  # @pypi/@conda(disabled=True)
        return {"uses_environment": False, "declared": declared}
    user_conda = dict(conda_deco.attributes.get("packages") or {}) if conda_deco else {}
    # @conda/@conda_base that pins python only is still a conda environment: the channel's python.
    conda_python = conda_deco is not None and _user_set(conda_deco, "python")
    if "pypi" in request:
        pypi, conda = dict(request["pypi"]["packages"]), user_conda
    elif user_conda or conda_python:
        pypi, conda = None, dict(request["conda"]["packages"])
    else:
        # Only Metaflow's default python and pins: served as a PyPI environment, no conda needed.
        pypi, conda = dict(request["conda"]["packages"]), {}
    python = None
    if pypi_deco is not None and pypi_deco.attributes.get("python"):
        python = str(pypi_deco.attributes["python"])
    elif conda_deco is not None and _user_set(conda_deco, "python"):
        python = str(conda_deco.attributes["python"])
    return {
        "uses_environment": True,
        "declared": declared,
        "pypi": pypi,
        "conda": conda,
        "python": python,
        "gpu": _gpu(step),
        "remote_arch": remote_arch(step),
    }


def _gpu(step):
    return any(
        str(d.attributes.get("gpu") or 0) not in ("0", "None")
        for d in step.decorators
        if d.name in GPU_DECORATORS
    )


def uv_request(step, datastore_type):
    """A step of a flow run with --environment=uv, but for its project (mfci.uvlock.
    project_request adds it): the packages Metaflow's own uv bootstrap adds for the
    datastore, and where the step runs."""
    from metaflow.metaflow_config import get_pinned_conda_libs

    return {
        "uses_environment": True,
        "declared": True,
        "pypi": dict(get_pinned_conda_libs(None, datastore_type)),
        "gpu": _gpu(step),
        "remote_arch": remote_arch(step),
    }


def steps_in_order(flow):
    """The flow's steps in its graph's order (start first, as `show` lists them), not the
    alphabetical order iterating a flow gives."""
    order = {name: index for index, name in enumerate(getattr(flow._graph, "sorted_nodes", ()))}
    return sorted(flow, key=lambda step: order.get(step.name, len(order)))
