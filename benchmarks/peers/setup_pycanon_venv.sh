#!/usr/bin/env bash
# Create (or reuse) the isolated virtual environment for the pycanon peer tool.
#
# pycanon 1.3.6 (PyPI) checks k-anonymity and l-diversity of a pandas DataFrame; it lives in
# its own venv so that its pins never touch sdc-engine's, and is driven through
# benchmarks/peers/pycanon_runner.py.
#
# Usage: benchmarks/peers/setup_pycanon_venv.sh [VENV_DIR]
#   VENV_DIR defaults to benchmarks/.venv-pycanon relative to the repository root.
# Environment: PYTHON selects the interpreter used to create the venv (default python3).
# Re-running is safe: an existing venv with the right pycanon version is left as is.
set -euo pipefail

PYCANON_VERSION="1.3.6"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../.." && pwd)"
venv_dir="${1:-${repo_root}/benchmarks/.venv-pycanon}"
python_bin="${PYTHON:-python3}"

if [[ ! -x "${venv_dir}/bin/python" ]]; then
    echo "creating venv at ${venv_dir}"
    "${python_bin}" -m venv "${venv_dir}"
fi

venv_python="${venv_dir}/bin/python"

installed="$("${venv_python}" - <<'PY' 2>/dev/null || true
from importlib.metadata import PackageNotFoundError, version
try:
    print(version("pycanon"), version("pyarrow"), sep=" ")
except PackageNotFoundError:
    print("")
PY
)"

if [[ "${installed%% *}" == "${PYCANON_VERSION}" ]]; then
    echo "pycanon ${PYCANON_VERSION} already installed in ${venv_dir}"
else
    "${venv_python}" -m pip install --quiet --upgrade pip
    "${venv_python}" -m pip install --quiet "pycanon==${PYCANON_VERSION}" pyarrow
fi

"${venv_python}" -c 'import pycanon, pandas, pyarrow; from importlib.metadata import version; print("pycanon", version("pycanon"), "pandas", pandas.__version__, "pyarrow", pyarrow.__version__)'
echo "pycanon python: ${venv_python}"
