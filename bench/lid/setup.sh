#!/bin/sh
# Create bench/.venv-lid with the reference fastText (the peer of compare_fasttext.py).
# numpy<2: fasttext-wheel 0.9.2's Python `predict` breaks on numpy 2 (the scripts call the C++
# binding directly, but keep the wrapper usable).
set -e
cd "$(dirname "$0")/../.."
[ -x bench/.venv-lid/bin/python ] || python3 -m venv bench/.venv-lid
bench/.venv-lid/bin/pip install -q fasttext-wheel "numpy<2"
bench/.venv-lid/bin/python -c "import fasttext; print('fasttext ok')"
