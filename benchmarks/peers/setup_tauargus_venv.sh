#!/usr/bin/env bash
# Create (or reuse) the isolated virtual environment for the tau-Argus peer tool.
#
# pytauargus 0.6.0 (PyPI) is the tau-Argus engine with HiGHS bundled; it lives in its own
# venv and is driven through benchmarks/peers/tauargus_runner.py.
#
# Usage: benchmarks/peers/setup_tauargus_venv.sh [VENV_DIR]
#   VENV_DIR defaults to benchmarks/.venv-tauargus relative to the repository root.
# Environment: PYTHON selects the interpreter used to create the venv (default python3).
set -euo pipefail

TAU_VERSION="0.6.0"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../.." && pwd)"
venv_dir="${1:-${repo_root}/benchmarks/.venv-tauargus}"
python_bin="${PYTHON:-python3}"

if [[ ! -x "${venv_dir}/bin/python" ]]; then
    echo "creating venv at ${venv_dir}"
    "${python_bin}" -m venv "${venv_dir}"
fi
venv_python="${venv_dir}/bin/python"
installed="$("${venv_python}" -c 'from importlib.metadata import version; print(version("pytauargus"))' 2>/dev/null || true)"
if [[ "${installed}" == "${TAU_VERSION}" ]]; then
    echo "pytauargus ${TAU_VERSION} already installed in ${venv_dir}"
else
    "${venv_python}" -m pip install --quiet --upgrade pip
    "${venv_python}" -m pip install --quiet "pytauargus==${TAU_VERSION}"
fi
"${venv_python}" -c 'import pytauargus; print("pytauargus", pytauargus.__version__)'
echo "tau-Argus python: ${venv_python}"
