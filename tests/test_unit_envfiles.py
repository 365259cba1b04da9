"""Fast unit layer: environment files in every form the seed's users keep them —
requirements.txt (pip's grammar and the seed's lines), environment.yml (conda's match
specs, the seed's sections, `conda env export`), pyproject.toml (PEP 621, PEP 735,
[tool.uv]) — read into specs for three archs. Modelled on the seed's own test files
(tests/environments/env_specs in metaflow-nflx-extensions) and on real repositories'
files; the real resolutions are in test_envfiles_resolve.py."""

import textwrap

import pytest

from mfci.envfile import Selection, read_environment_file
from mfci.errors import UsageError
from mfci.spec import SpecInputs, build_spec

ARCHS = ("linux-64", "osx-64", "osx-arm64")
INPUTS = SpecInputs("3.11", {"linux-64": {"__glibc": "2.27", "__unix": "0"},
                             "osx-64": {"__osx": "10.13", "__unix": "0"},
                             "osx-arm64": {"__osx": "11.0", "__unix": "0"}}, {"__cuda": "11.8=0"})
KINDS = {"txt": "requirements", "yml": "environment", "toml": "pyproject"}
HASH = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"


def read(tmp_path, name, text, environ=None, selection=Selection(), **others):
    for other, content in others.items():
        path = tmp_path / other.replace("__", "/").replace("_DOT_", ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    (tmp_path / name).write_text(textwrap.dedent(text))
    return read_environment_file(tmp_path / name, KINDS[name.rsplit(".", 1)[1]], environ or {}, selection)


def specs(requirement):
    """The spec for each of the three archs (python: the file's own choice, else 3.11)."""
    from mfci.pythons import choose_pythons

    python = choose_pythons(requirement.python, ["3.11"])[0]
    return {arch: build_spec(requirement, INPUTS, arch, python) for arch in ARCHS}


# (file, content, expected canonical spec fields) — every spec is built for three archs.
CASES = [
    # --- requirements.txt: the seed's own eleven kinds, then pip's other options ---
    ("requirements.txt", "# Simple PyPI requirements without any extras\npandas>=1.0\nnumpy>=1.20\nrequests\n",
     {"pypi": ["numpy>=1.20", "pandas>=1.0", "requests"]}),
    ("requirements.txt", '# markers\npandas>=1.0\nnumpy>=1.20; python_version >= "3.8"\n'
                         'importlib-metadata; python_version < "3.8"\n',
     {"pypi": ['importlib-metadata; python_version < "3.8"', 'numpy>=1.20; python_version >= "3.8"', "pandas>=1.0"]}),
    ("requirements.txt", "jsonschema\njsonschema-specifications<2024.10.1\n",
     {"pypi": ["jsonschema", "jsonschema-specifications<2024.10.1"]}),
    ("requirements.txt", "--extra-index-url https://download.pytorch.org/whl/cu121\n\ntyping-extensions==4.15.0\n",
     {"pypi": ["typing-extensions==4.15.0"],
      "pypi_options": {"extra_index_urls": ["https://download.pytorch.org/whl/cu121"]}}),
    ("requirements.txt", "# PyPI with custom index URL\n--extra-index-url https://pypi.org/simple\npandas>=1.0.0\n",
     {"pypi_options": {"extra_index_urls": ["https://pypi.org/simple"]}}),
    ("requirements.txt", "--find-links https://download.pytorch.org/whl/torch_stable.html\npandas>=1.0.0\n",
     {"pypi_options": {"find_links": ["https://download.pytorch.org/whl/torch_stable.html"]}}),
    ("requirements.txt", "--conda-pkg ffmpeg\nffmpeg-python\n",
     {"pypi": ["ffmpeg-python"], "conda": ["ffmpeg"], "channels": ["conda-forge"]}),
    ("requirements.txt", "# Test --conda-pkg without version\n--conda-pkg ffmpeg>=6 \npandas>=1.0\n",
     {"conda": ["ffmpeg>=6"]}),
    ("requirements.txt", "outlier-detector==0.0.3  # only a source distribution\nmatplotlib\n",
     {"pypi": ["matplotlib", "outlier-detector==0.0.3"]}),
    ("requirements.txt", "clip @ git+https://github.com/openai/CLIP.git@d50d76daa670286dd6cacf3bcd80b5e4823fc8e1\n",
     {"pypi": ["clip @ git+https://github.com/openai/CLIP.git@d50d76daa670286dd6cacf3bcd80b5e4823fc8e1"]}),
    ("requirements.txt", "itsdangerous\n", {"pypi": ["itsdangerous"]}),
    # extras, a continuation line, a URL with its hash, a bare wheel URL
    ("requirements.txt", "Requests[SOCKS,security] >=2.31, <3 ; sys_platform == 'linux'  # inline\n"
                         "uvicorn[standard] \\\n    ==0.30.0\n"
                         f"six @ https://files.example.org/six-1.16.0-py2.py3-none-any.whl#sha256={HASH}\n"
                         "https://files.example.org/tomli-2.0.1-py3-none-any.whl\n",
     {"pypi": ['requests[security,socks]<3,>=2.31; sys_platform == "linux"',
               f"six @ https://files.example.org/six-1.16.0-py2.py3-none-any.whl#sha256={HASH}",
               "tomli @ https://files.example.org/tomli-2.0.1-py3-none-any.whl", "uvicorn[standard]==0.30.0"]}),
    # pip-compile --generate-hashes output
    ("requirements.txt", "six==1.16.0 \\\n    --hash=sha256:1e61c374 \\\n    --hash=sha256:8abb2f1d\n"
                         "    # via -r requirements.in\n",
     {"pypi": ["six==1.16.0"], "pypi_options": {"hashes": [["six", ["sha256:1e61c374", "sha256:8abb2f1d"]]]}}),
    # every pip option, nested files, a token from the environment, the seed's lines
    ("requirements.txt", "-i https://mirror.example.org/simple\n--extra-index-url https://${PRIVATE_TOKEN}@private.example.org/simple\n"
                         "-f ./wheels\n--pre\n--trusted-host mirror.example.org\n-r base/common.txt\n-c constraints.txt\n"
                         "--conda-channel bioconda\n--conda-pkg samtools=1.19\n--sys-pkg __glibc==2.28\n--sys-pkg __cuda==12.1\n"
                         "python>=3.10,<3.12\n",
     {"pypi": ["six==1.16.0"], "python": "3.11", "conda": ["samtools 1.19.*"],
      "channels": ["bioconda", "conda-forge"],
      "pypi_options": {"index_url": "https://mirror.example.org/simple",
                       "extra_index_urls": ["https://private.example.org/simple"],
                       "constraints": ["idna<4"], "pre": True, "trusted_hosts": ["mirror.example.org"]},
      "system": {"linux-64": {"__glibc": "2.28", "__cuda": "12.1", "__unix": "0"},
                 "osx-arm64": {"__osx": "11.0", "__unix": "0"}}},
     {"base__common_DOT_txt": "six==1.16.0\n", "constraints_DOT_txt": "IDNA < 4\n"}),
    # --- environment.yml ---
    ("environment.yml", "dependencies:\n  - pandas=>=1.0.0\n", {"conda": ["pandas>=1.0.0"]}),
    ("environment.yml", "channels:\n  - conda-forge\ndependencies:\n  - conda-forge::numpy\n  - conda-forge::pandas\n"
                        "  - python=3.10\n",
     {"conda": ["conda-forge::numpy", "conda-forge::pandas"], "python": "3.10", "channels": ["conda-forge"]}),
    ("environment.yml", "# Conda with dependencies from multiple channels\ndependencies:\n"
                        "  - conda-forge::scikit-learn>=1.0.0\n  - defaults::pandas>=1.0.0\n",
     {"conda": ["conda-forge::scikit-learn>=1.0.0", "defaults::pandas>=1.0.0"],
      "channels": ["conda-forge", "defaults"]}),
    ("environment.yml", "dependencies:\n  - python=3.10\n  - pandas\n  - ffmpeg  # Non-python conda package\n"
                        "  - pip:\n    - requests\n",
     {"conda": ["ffmpeg", "pandas"], "pypi": ["requests"], "python": "3.10"}),
    ("environment.yml", "dependencies:\n  - pandas>=1.0.0\n  - __glibc>=2.17\n",
     {"conda": ["__glibc>=2.17", "pandas>=1.0.0"]}),
    ("environment.yml", "dependencies:\n  - comet_ml::comet_ml = 3.32.0\n  - pip:\n    - itsdangerous\n",
     {"conda": ["comet_ml::comet_ml 3.32.0.*"], "pypi": ["itsdangerous"], "channels": ["comet_ml", "conda-forge"]}),
    ("environment.yml", "unknown_section:\n  - some_value\n\ndependencies:\n  - python=3.10\n\n  - pandas\n\n  - numpy\n",
     {"conda": ["numpy", "pandas"], "python": "3.10"}),
    # the seed's own sections and `name = version` pip entries
    ("environment.yml", "channels:\n  - https://conda.example.org/t/tk-4242-abcd/private\n  - nodefaults\n"
                        "pypi-indices:\n  - https://ci:pw-9911@pypi.example.org/simple\n"
                        "dependencies:\n  - python>=3.10,<3.12\n  - private-lib >=2,<3\n"
                        "  - sys:\n    - __glibc=2.28\n  - pip:\n    - outlier-detector = 0.0.3\n"
                        "    - graphing = >=0.1\n    - --extra-index-url https://other.example.org/simple\n",
     {"conda": ["private-lib>=2,<3"], "pypi": ["graphing>=0.1", "outlier-detector==0.0.3"], "python": "3.11",
      "channels": ["https://conda.example.org/private"],
      "pypi_options": {"extra_index_urls": ["https://pypi.example.org/simple", "https://other.example.org/simple"]},
      "system": {"linux-64": {"__glibc": "2.28", "__unix": "0"}}}),
    # `conda env export`: exact builds, the name and prefix ignored
    ("environment.yml", "name: base\nchannels:\n  - conda-forge\ndependencies:\n  - _libgcc_mutex=0.1=conda_forge\n"
                        "  - numpy=1.26.4=py311h64a7726_0\n  - python=3.11.9=hab00c5b_0_cpython\n  - pip:\n"
                        "      - tomli==2.0.1\nprefix: /opt/conda/envs/base\n",
     {"conda": ["_libgcc_mutex==0.1 conda_forge", "numpy==1.26.4 py311h64a7726_0"], "python": "3.11.9",
      "pypi": ["tomli==2.0.1"]}),
    # --- pyproject.toml ---
    ("pyproject.toml", '[project]\nname = "test-project"\nrequires-python = ">=3.9"\ndependencies = ["pandas>=1.0.0", "numpy"]\n\n'
                       '[[tool.poetry.source]]\nname = "custom"\nurl = "https://pypi.custom.com/simple"\n',
     {"pypi": ["numpy", "pandas>=1.0.0"], "python": "3.11",
      "pypi_options": {"extra_index_urls": ["https://pypi.custom.com/simple"]}}),
    ("pyproject.toml", '[project]\nname = "svc"\ndependencies = ["fastapi>=0.110"]\nrequires-python = ">=3.10,<3.11"\n',
     {"pypi": ["fastapi>=0.110"], "python": "3.10"}),
    ("pyproject.toml", '[project]\nname = "svc"\ndependencies = ["torch", "lib", "six>=1.16"]\n'
                       '[tool.uv.sources]\ntorch = { index = "pytorch" }\nlib = { git = "https://github.com/x/lib", tag = "v1.0" }\n'
                       '[[tool.uv.index]]\nname = "pytorch"\nurl = "https://download.pytorch.org/whl/cpu"\nexplicit = true\n'
                       '[[tool.uv.index]]\nname = "corp"\nurl = "https://corp.example.org/simple"\n'
                       '[tool.uv]\nconstraint-dependencies = ["numpy<2"]\nprerelease = "allow"\n',
     {"pypi": ["lib @ git+https://github.com/x/lib@v1.0", "six>=1.16", "torch"],
      "pypi_options": {"named_indexes": [["pytorch", "https://download.pytorch.org/whl/cpu"]],
                       "sources": [["torch", "pytorch"]], "extra_index_urls": ["https://corp.example.org/simple"],
                       "constraints": ["numpy<2"], "pre": True}}),
]


@pytest.mark.parametrize("name,text,expected,others", [(*case, {}) if len(case) == 3 else case for case in CASES],
                         ids=[f"{i}-{case[0]}" for i, case in enumerate(CASES)])
def test_every_form_reads_into_a_spec_for_three_archs(tmp_path, name, text, expected, others):
    requirement = read(tmp_path, name, text, {"PRIVATE_TOKEN": "tok-5150-zz"}, **others)
    by_arch = specs(requirement)
    assert len({spec.spec_id for spec in by_arch.values()}) == 3       # each arch its own key
    spec = by_arch["linux-64"]
    canonical = spec.canonical()
    for field_name, value in expected.items():
        if field_name == "system":
            for arch, packages in value.items():
                assert by_arch[arch].system == packages
        elif field_name == "pypi_options":
            assert canonical["pypi_options"] == {**value, **{k: canonical["pypi_options"][k] for k in
                                                             canonical["pypi_options"] if k not in value}}
            for key, wanted in value.items():
                assert canonical["pypi_options"][key] == wanted
        else:
            assert canonical[field_name] == value, field_name
    text_of_spec = str(canonical)
    assert "tok-5150-zz" not in text_of_spec and "tk-4242" not in text_of_spec and "pw-9911" not in text_of_spec


def test_a_file_and_a_flow_step_with_the_same_needs_share_a_spec(tmp_path):
    from mfci.spec import StepRequirement

    step = StepRequirement("flow.py", "F", "s", pypi={"six": "1.16.0", "requests": ">=2.21.0"})
    from_file = read(tmp_path, "requirements.txt", "requests>=2.21.0\nsix==1.16.0\n")
    assert specs(from_file)["osx-arm64"].spec_id == build_spec(step, INPUTS, "osx-arm64").spec_id


def test_selected_extras_and_groups_of_a_pyproject(tmp_path):
    text = ('[project]\nname = "My-Proj"\ndependencies = ["six"]\n[project.optional-dependencies]\n'
            'plot = ["matplotlib>=3.8"]\nall = ["my_proj[plot]", "rich"]\n'
            '[dependency-groups]\ntest = ["pytest>=8", {include-group = "lint"}]\nlint = ["ruff"]\n')
    plain = read(tmp_path, "pyproject.toml", text)
    assert set(plain.pypi) == {"six"}
    chosen = read(tmp_path, "pyproject.toml", text, selection=Selection(extras=("all",), groups=("test",)))
    assert specs(chosen)["linux-64"].pypi == ("matplotlib>=3.8", "pytest>=8", "rich", "ruff", "six")
    every = read(tmp_path, "pyproject.toml", text, selection=Selection(all_extras=True))
    assert set(every.pypi) == {"six", "matplotlib>=3.8", "rich"}


@pytest.mark.parametrize("name,text,message", [
    ("requirements.txt", "-e ./local\n", "editable"),
    ("requirements.txt", "six >=>= 1.0\n", "requirements.txt:1"),
    ("requirements.txt", "--use-deprecated legacy-resolver\nsix\n", "use-deprecated"),
    ("requirements.txt", "--sys-pkg __foo==1\nsix\n", "__foo"),
    ("requirements.txt", "--conda-pkg numpy=>>1\nsix\n", "numpy=>>1"),
    ("requirements.txt", "-r missing.txt\n", "missing.txt"),
    ("requirements.txt", "-r requirements.txt\n", "included from itself"),
    ("requirements.txt", "python\nsix\n", "python takes a version"),
    ("environment.yml", "dependencies: [\n", "not valid YAML"),
    ("environment.yml", "dependencies:\n  - numpy=>>1\n", "numpy=>>1"),
    ("environment.yml", "dependencies:\n  - python=3.10\n  - python=3.11\n", "python is asked for twice"),
    ("environment.yml", "dependencies:\n  - sys:\n    - __glibc>=2.17\n", "__glibc>=2.17"),
    ("environment.yml", "dependencies:\n  - {conda: x}\n", "unsupported entry"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = "six"\n', "not a string"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["six"]\n[tool.uv.sources]\nsix = { index = "nope" }\n',
     "no [[tool.uv.index]] defines"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["six"]\n[tool.uv.sources]\nsix = { workspace = true }\n',
     "unsupported source"),
    ("pyproject.toml", '[project]\nname = "x"\n', "no packages"),
])
def test_a_bad_file_is_one_line_naming_it(tmp_path, name, text, message):
    with pytest.raises(UsageError) as error:
        read(tmp_path, name, text)
    assert message in str(error.value) and name in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("selection,message", [(Selection(extras=("nope",)), "no optional dependencies 'nope'"),
                                               (Selection(groups=("nope",)), "no dependency group 'nope'")])
def test_an_unknown_extra_or_group_names_the_known_ones(tmp_path, selection, message):
    with pytest.raises(UsageError, match=message):
        read(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = ["six"]\n'
                                         '[project.optional-dependencies]\nplot = ["rich"]\n', selection=selection)
