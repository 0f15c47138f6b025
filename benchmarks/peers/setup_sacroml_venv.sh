#!/usr/bin/env bash
# Create (or reuse) the isolated virtual environment for the SACRO-ML peer tool.
#
# sacroml 2.0.1 depends on torch, xgboost and acro<2 (which pins pandas<=2.3.3,
# while sdc-engine uses pandas 3.x), so it must live in its own venv and is
# driven via benchmarks/peers/sacroml_runner.py. It is never installed into the
# project's own environment, and the default test run does not need it.
#
# Usage: benchmarks/peers/setup_sacroml_venv.sh [VENV_DIR]
#   VENV_DIR defaults to benchmarks/.venv-sacroml relative to the repository root.
# Environment: PYTHON selects the interpreter used to create the venv (default python3).
# Re-running is safe: an existing venv with the right sacroml and torch versions
# is left as is.
#
# Pitfalls:
# - torch must be installed FIRST and pinned to the exact CPU build that lies
#   on local disk (torch 2.13.0+cpu, picked up through pip's find-links). Any
#   other torch requirement (a bare "torch", as sacroml declares, or another
#   version) makes pip resolve a multi-GB CUDA build from the index.
# - "torch==2.13.0" matches the local build "2.13.0+cpu" (PEP 440 ignores the
#   local label when the specifier has none), so the version check below
#   compares the public part only.
# - Installing sacroml afterwards must not replace torch: it is installed with
#   a constraints file holding "torch==<version>" so that neither its bare
#   "torch" requirement nor an --upgrade can swap in another build; torch's
#   version is checked again afterwards and the script fails if it changed.
# - sacroml pulls in xgboost, whose Linux x86_64 wheels depend on
#   nvidia-nccl-cu12 (469 MB installed, even on a CPU-only machine). It is
#   harmless but makes the first install slower; the venv ends up at ~2.2 GB.
# - sacroml pulls in acro<2, which pins pandas<=2.3.3; scikit-learn is not
#   pinned by sacroml, so the venv gets the newest one the index serves. Model
#   pickles must be made with this venv's scikit-learn (pickles do not move
#   across scikit-learn versions); the script prints it.
set -euo pipefail

SACROML_VERSION="2.0.1"
TORCH_VERSION="2.13.0"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../.." && pwd)"
venv_dir="${1:-${repo_root}/benchmarks/.venv-sacroml}"
python_bin="${PYTHON:-python3}"

if [[ ! -x "${venv_dir}/bin/python" ]]; then
    echo "creating venv at ${venv_dir}"
    "${python_bin}" -m venv "${venv_dir}"
fi

venv_python="${venv_dir}/bin/python"

# Prints "<sacroml version> <torch public version>" with "-" for a missing one.
installed_versions() {
    "${venv_python}" - <<'PY' 2>/dev/null || true
from importlib.metadata import PackageNotFoundError, version
out = []
for name in ("sacroml", "torch"):
    try:
        out.append(version(name).split("+")[0])
    except PackageNotFoundError:
        out.append("-")
print(*out)
PY
}

installed="$(installed_versions)"
sacroml_installed="${installed%% *}"
torch_installed="${installed##* }"

if [[ "${sacroml_installed}" == "${SACROML_VERSION}" && "${torch_installed}" == "${TORCH_VERSION}" ]]; then
    echo "sacroml ${SACROML_VERSION} with torch ${TORCH_VERSION} already installed in ${venv_dir}"
else
    constraints="$(mktemp)"
    trap 'rm -f "${constraints}"' EXIT
    echo "torch==${TORCH_VERSION}" >"${constraints}"
    "${venv_python}" -m pip install --quiet --upgrade pip
    if [[ "${torch_installed}" != "${TORCH_VERSION}" ]]; then
        echo "installing torch==${TORCH_VERSION} (CPU build from local disk)"
        "${venv_python}" -m pip install --quiet "torch==${TORCH_VERSION}"
    fi
    echo "installing sacroml==${SACROML_VERSION}"
    "${venv_python}" -m pip install --quiet --constraint "${constraints}" "sacroml==${SACROML_VERSION}"
fi

installed="$(installed_versions)"
if [[ "${installed##* }" != "${TORCH_VERSION}" ]]; then
    echo "error: torch in ${venv_dir} is '${installed##* }', expected ${TORCH_VERSION}" >&2
    exit 1
fi
if [[ "${installed%% *}" != "${SACROML_VERSION}" ]]; then
    echo "error: sacroml in ${venv_dir} is '${installed%% *}', expected ${SACROML_VERSION}" >&2
    exit 1
fi

"${venv_python}" - <<'PY'
from importlib.metadata import version

import numpy, pandas, sklearn, torch

print(
    "sacroml", version("sacroml"),
    "torch", torch.__version__,
    "scikit-learn", sklearn.__version__,
    "numpy", numpy.__version__,
    "pandas", pandas.__version__,
    "xgboost", version("xgboost"),
    "acro", version("acro"),
)
print("torch CUDA build:", torch.version.cuda)
PY
echo "sacroml python: ${venv_python}"
