#!/usr/bin/env bash
# Reproduces the Python environment used to generate the golden fixtures in test/fixtures/.
# Offline only: installs from the local wheel mirrors (/opt/pypi, /opt/pypi-more).
# CI never runs this (CI has no Python); it is for regenerating fixtures by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-/root/.pyenv/shims/python3}"   # Python 3.11
PIP_OPTS=(--no-index --find-links /opt/pypi-more/files --find-links /opt/pypi/files)

"$PY" -m venv "$VENV"
P="$VENV/bin/pip"

# torch: the only cp311 wheel in the mirror is the CUDA build. Its `cuda-bindings` dependency is
# not mirrored, so install torch without deps, then its pure-Python deps and the NVIDIA shared
# libraries it links against (needed only so `import torch` succeeds; everything runs on CPU).
"$P" install "${PIP_OPTS[@]}" --no-deps torch==2.14.1
"$P" install "${PIP_OPTS[@]}" filelock typing-extensions "setuptools>=77" sympy networkx jinja2 fsspec mpmath numpy==2.4.6
"$P" install "${PIP_OPTS[@]}" --no-deps \
  nvidia-cudnn-cu13 nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvshmem-cu13 nvidia-cublas \
  nvidia-cuda-runtime nvidia-cufft nvidia-cufile nvidia-cuda-cupti nvidia-curand nvidia-cusolver \
  nvidia-cusparse nvidia-nvjitlink nvidia-cuda-nvrtc nvidia-nvtx

# Hugging Face stack. transformers 4.57.6 pins huggingface-hub<1.0, but only huggingface-hub 1.33.0
# is mirrored; the fixtures only use local files, so relax that pin (see the sed below).
"$P" install "${PIP_OPTS[@]}" --no-deps transformers==4.57.6 peft==0.21.0 huggingface_hub==1.33.0 \
  tokenizers==0.22.2 safetensors==0.8.0 accelerate==1.15.0
"$P" install "${PIP_OPTS[@]}" packaging pyyaml regex requests tqdm psutil \
  "click>=8.4.2,<9" "hf-xet>=1.6,<2" "httpx<1,>=0.23"

TBL="$("$VENV/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')/transformers/dependency_versions_table.py"
sed -i 's/"huggingface-hub": "huggingface-hub>=0.34.0,<1.0"/"huggingface-hub": "huggingface-hub>=0.34.0"/' "$TBL"

"$VENV/bin/python" -c 'import torch, transformers, peft, tokenizers, safetensors, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__, "tokenizers", tokenizers.__version__, "safetensors", safetensors.__version__, "numpy", numpy.__version__)'
