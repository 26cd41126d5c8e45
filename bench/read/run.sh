#!/usr/bin/env bash
# WET reading benchmark: tria's reader against gzip decompression alone and against warcio and
# fastwarc (pip), on the same generated CommonCrawl-style WET files, one core.
# Usage: bench/read/run.sh [DOCS_PER_FILE] [FILES]     (run from the repository root)
set -euo pipefail
docs=${1:-5000}
files=${2:-8}
work=bench/work/read
venv=bench/.venv-read
mkdir -p "$work"
cargo build --release -q -p tria-bench
if [ ! -d "$work/wet" ] || [ "$(ls "$work/wet" | wc -l)" != "$files" ]; then
    rm -rf "$work/wet"
    src=../shared/data/lid
    [ -d "$src" ] || { echo "needs ../shared/data/lid for text"; exit 1; }
    target/release/gen-wet --lines "$src" --docs "$docs" --files "$files" --out-dir "$work/wet" --seed 7
fi
[ -d "$venv" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q warcio fastwarc
echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs)"
echo "input: $(du -sh "$work/wet" | cut -f1) compressed in $files files"
taskset -c 0 target/release/read-bench "$work"/wet/*.gz
taskset -c 0 "$venv/bin/python" bench/read/peers.py "$work"/wet/*.gz
