#!/usr/bin/env bash
# tria-runtime vs PyTorch/transformers: agreement on the same weights and eval speed on CPU.
# Creates bench/.venv-runtime (git-ignored) with torch, transformers and safetensors from PyPI,
# builds the eval_tokens example in release mode, then runs compare_torch.py for a few model
# variants (the last one, the largest, is the speed figure).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=bench/.venv-runtime
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet torch transformers safetensors numpy
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --quiet --release -p tria-runtime --example eval_tokens
PY="$VENV/bin/python bench/runtime/compare_torch.py"

echo "== agreement: small models, every architecture switch =="
$PY --vocab 300 --hidden 64 --intermediate 160 --layers 2 --heads 4 --kv-heads 2 --context 64 --batch 3 --docs 9 --min-len 10 --max-len 200
$PY --vocab 300 --hidden 64 --intermediate 160 --layers 2 --heads 4 --kv-heads 4 --tied --dtype bf16 --rope linear --context 64 --batch 2 --docs 6 --min-len 10 --max-len 150
$PY --vocab 300 --hidden 64 --intermediate 160 --layers 2 --heads 4 --kv-heads 1 --rope llama3 --theta 500000 --context 128 --batch 2 --docs 6 --min-len 10 --max-len 300

echo "== speed: hidden 512, 8 layers, GQA 8/4, vocab 32000, context 512, batch 4 =="
$PY "$@"
