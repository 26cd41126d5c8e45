#!/usr/bin/env bash
# HTML main-content extraction benchmark: tria against trafilatura (pip), on the same pages, one core.
# Pages: generated from real sentences of the 35 languages (../shared/data/lid) in five families of
# templates with known main content, plus every HTML response of the real WARC fixtures
# (../shared/fixtures/cc). Usage: bench/extract/run.sh [PAGES_PER_LANGUAGE]   (from the repository root)
set -euo pipefail
per_lang=${1:-10}
work=bench/work/extract
venv=bench/.venv-extract
target=${CARGO_TARGET_DIR:-target}
lid=../shared/data/lid
cc=../shared/fixtures/cc
[ -d "$lid" ] || { echo "needs $lid for the page text"; exit 1; }
cargo build --release -q -p tria-bench --bin extract-bench
rm -rf "$work"
python3 bench/extract/gen_pages.py "$lid" "$work/gen" --per-lang "$per_lang" --seed 10
# The held-out family, written after tria was tuned.
python3 bench/extract/gen_pages.py "$lid" "$work/holdout" --per-lang 4 --seed 11 --template 5
real=()
if [ -d "$cc" ]; then
    for w in resiliparse-warcfile whirlwind resiliparse-clueweb-quirk; do
        "$target/release/extract-bench" dump-warc "$cc/$w.warc.gz" "$work/real/pages"
    done
    # Their main content, judged by hand, is bench/extract/judged.tsv.
    real=(--real "$work/real" --judged bench/extract/judged.tsv)
fi
[ -d "$venv" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q trafilatura==2.3.1 lxml_html_clean
echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs)"
taskset -c 0 "$venv/bin/python" bench/extract/compare.py "$work/gen" "$target/release/extract-bench" "${real[@]}" | tee "$work/report.json"
echo "held-out template family:"
taskset -c 0 "$venv/bin/python" bench/extract/compare.py "$work/holdout" "$target/release/extract-bench" | tee "$work/report-holdout.json"
