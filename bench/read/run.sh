#!/usr/bin/env bash
# WET reading benchmark: tria's reader against gzip decompression alone and against warcio and
# fastwarc (pip), on the same generated CommonCrawl-style WET files, one core.
# Usage: bench/read/run.sh [DOCS_PER_FILE] [FILES] [LINES_PER_DOC]   (from the repository root)
# LINES_PER_DOC is a range, default 5-40 (about 1.5 kB per record); 40-160 gives about 5.6 kB.
set -euo pipefail
docs=${1:-5000}
files=${2:-8}
lines=${3:-5-40}
work=bench/work/read/$docs-$files-$lines
venv=bench/.venv-read
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$work"
cargo build --release -q -p tria-bench
if [ ! -d "$work/wet" ] || [ "$(ls "$work/wet" | wc -l)" != "$files" ]; then
    rm -rf "$work/wet"
    src=../shared/data/lid
    [ -d "$src" ] || { echo "needs ../shared/data/lid for text"; exit 1; }
    "$target/release/gen-wet" --lines "$src" --docs "$docs" --files "$files" --out-dir "$work/wet" --seed 7 --doc-lines "$lines"
fi
[ -d "$venv" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q warcio fastwarc
echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs)"
echo "input: $(du -sh "$work/wet" | cut -f1) compressed in $files files"
taskset -c 0 "$target/release/read-bench" "$work"/wet/*.gz
taskset -c 0 "$venv/bin/python" bench/read/peers.py "$work"/wet/*.gz
# GNU gzip as a third decompression-only reference (CPU seconds, best of 3).
best=
for _ in 1 2 3; do
    t=$( { /usr/bin/time -f "%U %S" taskset -c 0 gzip -dc "$work"/wet/*.gz > /dev/null; } 2>&1 | awk '{print $1 + $2}')
    best=$(python3 -c "print(min(x for x in [$t, ${best:-1e9}]))")
done
echo "{\"name\": \"gzip -dc (GNU gzip $(gzip --version | head -1 | awk '{print $2}'))\", \"seconds\": $best}"
