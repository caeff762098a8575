#!/usr/bin/env bash
# Create .venv and install the project with its test tools. Safe to run again (fast when done).
# TORCH_SPEC picks the PyTorch build: the default pins the CPU wheel used in CI; on a GPU machine
# use e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  # Torch first, so that no dependency pulls another (CUDA) build.
  echo "setup: installing PyTorch ($TORCH_SPEC; a large download, it can take a few minutes)"
  .venv/bin/pip install --quiet $TORCH_SPEC
fi
echo "setup: installing the project and its dependencies (mujoco, hydra-core, ...) with the test tools"
.venv/bin/pip install --quiet -e ".[test]"
echo "setup: done; run e.g. .venv/bin/python run.py stage=bench"
