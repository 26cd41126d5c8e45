#!/usr/bin/env bash
# tria-dedup benchmark: MinHash dedup against datatrove on the same generated input, and a scaling
# table. Usage: bench/dedup/run.sh compare <docs>     (tria and datatrove, one core each)
#               bench/dedup/run.sh scale <docs> <min_words> [threads] [budget_mb]   (tria alone, time + peak RSS)
#               bench/dedup/run.sh quality <per_level>  (recall vs LSH curve, precision)
# Input sentences come from ../shared/data/lid when present (ca eu gl es en fr pt de it pl), else a
# synthetic vocabulary. Work files go to bench/work (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$ROOT/bench/work/dedup
LID=$ROOT/../shared/data/lid
mkdir -p "$WORK"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# The portable build (plain x86-64, what `cargo build --release` gives): it picks the vectorised
# MinHash loop (AVX-512 or AVX2) at run time.
CARGO_TARGET_DIR=$TARGET cargo build --release -q -p tria-dedup --example dedup_bench
B=$TARGET/release/examples/dedup_bench
B_PORTABLE=$B
# NATIVE=1 also builds with `-C target-cpu=native` and runs it in `compare` (same output expected).
if [ "${NATIVE:-0}" = 1 ]; then
    RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=$TARGET-native \
        cargo build --release -q -p tria-dedup --example dedup_bench
    B_NATIVE=$TARGET-native/release/examples/dedup_bench
fi

venv() {
    local V=$ROOT/bench/.venv-dedup
    if [ ! -x "$V/bin/python" ]; then
        python3 -m venv "$V"
        # xxhash < 3.6: datatrove 0.10 passes str to xxh64_intdigest, which newer xxhash refuses.
        "$V/bin/pip" install -q "datatrove==0.10.1" "xxhash<3.6" regex tokenizers orjson
    fi
    PY=$V/bin/python
}

gen() { # docs min_words -> sets IN
    IN=$WORK/in-$1-$2
    if [ ! -f "$IN/.done" ]; then
        rm -rf "$IN"
        local files=$(( ($1 + 99999) / 100000 )); [ "$files" -lt 4 ] && files=4
        "$B" gen "$IN" "$1" "$files" "$2" "$LID"
        touch "$IN/.done"
    fi
}

measure() { # label cmd... : runs under /usr/bin/time, prints its output and the peak RSS
    local label=$1; shift
    /usr/bin/time -f "$label wall_s=%e user_s=%U sys_s=%S peak_rss_kib=%M" "$@" 2>"$WORK/time.err" | tail -3
    grep -E "wall_s=" "$WORK/time.err"
}

case "${1:-}" in
compare)
    venv; gen "$2" 200
    echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- dedup || echo ' (+ changes)')"
    rm -rf "$WORK/tria-work" "$WORK/tria-out"
    RAYON_NUM_THREADS=1 measure "tria-portable(1 thread)" "$B_PORTABLE" sharded "$IN" \
        "$WORK/tria-work" "$WORK/tria-out"
    # The words `tria dedup` cuts: each document's language rules (language from its id here).
    rm -rf "$WORK/tria-work-lang" "$WORK/tria-out-lang"
    TRIA_DEDUP_WORDS=lang RAYON_NUM_THREADS=1 measure "tria-language-words(1 thread)" "$B_PORTABLE" \
        sharded "$IN" "$WORK/tria-work-lang" "$WORK/tria-out-lang"
    if [ -n "${B_NATIVE:-}" ]; then
        rm -rf "$WORK/tria-work-native" "$WORK/tria-out-native"
        RAYON_NUM_THREADS=1 measure "tria-native(1 thread)" "$B_NATIVE" sharded "$IN" \
            "$WORK/tria-work-native" "$WORK/tria-out-native"
        cmp <(cat "$WORK"/tria-out/*.jsonl) <(cat "$WORK"/tria-out-native/*.jsonl) \
            && echo "native and portable builds keep the same documents"
    fi
    rm -rf "$WORK/dt-work"
    measure "datatrove(1 worker)" "$PY" bench/dedup/datatrove_minhash.py "$IN" "$WORK/dt-work"
    echo "kept: tria $(cat "$WORK"/tria-out/*.jsonl | wc -l), datatrove $(cat "$WORK"/dt-work/output/*.jsonl | wc -l)"
    ;;
scale)
    gen "$2" "$3"
    echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    du -sh "$IN"
    rm -rf "$WORK/scale-out"
    RAYON_NUM_THREADS=${4:-$(nproc)} measure "tria local $2 docs" "$B" local "$IN" "$WORK/scale-out" ${5:-}
    sha256sum <(cat "$WORK"/scale-out/*.jsonl) | cut -c1-16
    ;;
quality)
    "$B" quality "$2" "$LID"
    ;;
*)
    echo "usage: $0 compare <docs> | scale <docs> <min_words> [threads] [budget_mb] | quality <per_level>" >&2
    exit 2
    ;;
esac
