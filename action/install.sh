#!/usr/bin/env bash
# Installs mfci (and the packages flow files import) into a virtual environment of its own,
# so the job's python stays as it was; later steps of the job find `mfci` on PATH.
set -euo pipefail

venv="${RUNNER_TEMP:?}/mfci-venv"
source="${MFCI_SOURCE:-${GITHUB_ACTION_PATH:?}}"
read -r -a extra <<<"${MFCI_EXTRA_PACKAGES:-}"

"${MFCI_BASE_PYTHON:?}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$source" "${extra[@]}"
"$venv/bin/mfci" --help >/dev/null

echo "$venv/bin" >>"$GITHUB_PATH"
echo "python=$venv/bin/python" >>"$GITHUB_OUTPUT"
