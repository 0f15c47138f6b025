#!/usr/bin/env bash
# Create (or reuse) the isolated virtual environment for the ACRO peer tool.
#
# ACRO 1.0.2 pins pandas<=2.3.3 while sdc-engine uses pandas 3.x, so ACRO must
# live in its own venv and is driven via benchmarks/peers/acro_runner.py.
#
# Usage: benchmarks/peers/setup_acro_venv.sh [VENV_DIR]
#   VENV_DIR defaults to benchmarks/.venv-acro relative to the repository root.
# Environment: PYTHON selects the interpreter used to create the venv (default python3).
# Re-running is safe: an existing venv with the right ACRO version is left as is.
set -euo pipefail

ACRO_VERSION="1.0.2"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../.." && pwd)"
venv_dir="${1:-${repo_root}/benchmarks/.venv-acro}"
python_bin="${PYTHON:-python3}"

if [[ ! -x "${venv_dir}/bin/python" ]]; then
    echo "creating venv at ${venv_dir}"
    "${python_bin}" -m venv "${venv_dir}"
fi

venv_python="${venv_dir}/bin/python"

installed="$("${venv_python}" - <<'PY' 2>/dev/null || true
from importlib.metadata import PackageNotFoundError, version
try:
    print(version("acro"), version("pyarrow"), sep=" ")
except PackageNotFoundError:
    print("")
PY
)"

if [[ "${installed%% *}" == "${ACRO_VERSION}" ]]; then
    echo "acro ${ACRO_VERSION} already installed in ${venv_dir}"
else
    "${venv_python}" -m pip install --quiet --upgrade pip
    "${venv_python}" -m pip install --quiet "acro==${ACRO_VERSION}" pyarrow
fi

"${venv_python}" -c 'import acro, pandas, pyarrow; from importlib.metadata import version; print("acro", version("acro"), "pandas", pandas.__version__, "pyarrow", pyarrow.__version__)'
echo "ACRO python: ${venv_python}"
