#!/usr/bin/env bash
# End-to-end bench (issue 9, points 3 and 4). Run from anywhere; work files go to bench/work/e2e.
#
#   bench/e2e/run.sh quality [DOCS]    corpus with planted duplicates, low-quality pages and corrupted
#                                      records -> examples/ca-eu-gl.toml end to end -> score.py
#   bench/e2e/run.sh speed [DOCS]      clean corpus; tria's pipeline, tria reading alone and datatrove's
#                                      equivalent pipeline, one core each
#   bench/e2e/run.sh rss SIZE...       peak RSS of tria's pipeline (each step) at each input size
#                                      (compressed WET bytes, e.g. 100M 500M 2G)
#   bench/e2e/run.sh all               quality 20000, speed 10000, rss 100M 500M 2G
#
# Needs ../shared/data/lid (sentences) and ../shared/lid.176.ftz (datatrove's language filter).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$ROOT/bench/work/e2e
LID=$ROOT/../shared/data/lid
FT176=$ROOT/../shared/lid.176.ftz
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TRIA=$TARGET/release/tria
GEN=$TARGET/release/gen-corpus
mkdir -p "$WORK"
[ -d "$LID" ] || { echo "needs $LID (language-ID sentences)"; exit 1; }
cargo build --release -q -p tria -p tria-bench

machine() {
    echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs)," \
        "$(free -g | awk '/Mem:/ {print $2}') GiB; tria $("$TRIA" --version | cut -d' ' -f2)"
}

gen() { # name args... -> corpus in $WORK/<name> (kept between runs)
    local dir=$WORK/$1
    shift
    if [ ! -f "$dir/.done" ] || [ "$(cat "$dir/.done")" != "$*" ]; then
        rm -rf "$dir"
        "$GEN" --lid "$LID" --out-dir "$dir" "$@"
        echo "$*" > "$dir/.done"
    fi
}

# Peak RSS (KiB) and wall seconds of a command, from /usr/bin/time -v; the command's exit code.
timed() { # label cmd...
    local label=$1
    shift
    local log=$WORK/time-$label.log
    set +e
    /usr/bin/time -v "$@" > "$WORK/out-$label.log" 2> "$log"
    local rc=$?
    set -e
    local rss wall user sys
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$log")
    user=$(awk -F': ' '/User time/ {print $2}' "$log")
    sys=$(awk -F': ' '/System time/ {print $2}' "$log")
    printf '%-28s rc %s  wall %s  cpu %.1f s  peak RSS %d MiB\n' "$label" "$rc" "$wall" \
        "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
    return 0
}

quality() {
    local docs=${1:-20000}
    gen q --docs "$docs" --files 8 --seed 1
    local out=$WORK/out-q
    rm -rf "$out"
    machine
    echo "corpus: $docs records in $(ls "$WORK"/q/*.gz | wc -l) files, $(du -sh "$WORK/q" | cut -f1)"
    set +e
    "$TRIA" run examples/ca-eu-gl.toml --input "$WORK/q/*.warc.wet.gz" --output "$out" \
        > "$WORK/quality-run.log" 2>&1
    local rc=$? completed=yes
    set -e
    echo "tria run examples/ca-eu-gl.toml --input '$WORK/q/*.warc.wet.gz' --output $out: exit $rc"
    tail -3 "$WORK/quality-run.log"
    # Exit 1 is expected (the truncated file); every step must still have run (its report marker).
    if [ "$rc" -gt 1 ] || ! ls "$out"/.tria/steps/report/*.json > /dev/null 2>&1; then
        completed=no
        # The run stopped early: run the later steps one by one (as a job array would) so the rest
        # can be measured.
        for step in dedup-signatures dedup-pairs dedup-clusters dedup-filter tokenizer-train tokenize eval report; do
            set +e
            "$TRIA" run examples/ca-eu-gl.toml --input "$WORK/q/*.warc.wet.gz" --output "$out" \
                --step "$step" --ranks 1 --rank 0 >> "$WORK/quality-run.log" 2>&1
            echo "  --step $step: exit $?"
            set -e
        done
    fi
    python3 bench/e2e/score.py --truth "$WORK/q/truth.jsonl" --filtered "$out/filter" \
        --final "$out/dedup" --report "$out/report.json" --exit-code "$rc" --completed "$completed" --json "$WORK/score.json"
    # The peer's reader on the same corrupted files (no pipeline: it stops at the first bad record).
    if [ -x bench/.venv-e2e/bin/python ]; then
        bench/.venv-e2e/bin/python bench/e2e/datatrove_read.py "$WORK/q" 2> /dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("datatrove WarcReader on the same files:", sum(v["docs"] for v in r.values()), "documents;",
      sum("error" in v for v in r.values()), "of", len(r), "files stopped by an exception:",
      sorted({v["error"].split(":")[0] for v in r.values() if "error" in v}))'
    fi
}

speed() {
    local docs=${1:-10000}
    gen s --docs "$docs" --files 4 --seed 2 --no-corrupt
    local venv=$ROOT/bench/.venv-e2e
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
        # xxhash < 3.6: datatrove 0.10 passes str to xxh64_intdigest, which newer xxhash refuses.
        "$venv/bin/pip" install -q "datatrove[processing]==0.10.1" "xxhash<3.6" warcio spacy orjson faust-cchardet python-magic
    fi
    # One tokenizer for both: a 32k SentencePiece-style BPE trained by tria on the quality run's
    # final documents (or on this corpus' documents when that run is absent).
    local tok=$WORK/tok/tokenizer.json
    if [ ! -f "$tok" ]; then
        mkdir -p "$WORK/tok"
        "$TRIA" run --input "$WORK/s/*.warc.wet.gz" --output "$WORK/tok/docs" -j 2 > /dev/null 2>&1 || true
        "$TRIA" tokenizer train --input "$WORK/tok/docs/*.jsonl.zst" --vocab-size 32000 --out "$tok" -j 2 \
            > /dev/null 2>&1
    fi
    sed -e "s#@INPUT@#$WORK/s/*.warc.wet.gz#" -e "s#@OUT@#$WORK/out-s#" -e "s#@TOK@#$tok#" \
        bench/e2e/speed.toml.in > "$WORK/speed.toml"
    machine
    echo "corpus: $docs records in 4 files, $(du -sb "$WORK/s" | cut -f1) bytes compressed"
    echo "datatrove $("$venv/bin/pip" show datatrove 2>/dev/null | awk '/^Version/ {print $2}')," \
        "spaCy $("$venv/bin/pip" show spacy 2>/dev/null | awk '/^Version/ {print $2}')," \
        "fasttext $("$venv/bin/pip" show fasttext-numpy2-wheel 2>/dev/null | awk '/^Version/ {print $2}')"
    # Warm the page cache for every reader.
    cat "$WORK"/s/*.gz > /dev/null
    rm -rf "$WORK/out-s" "$WORK/out-read"
    timed tria-pipeline-1core taskset -c 0 "$TRIA" run "$WORK/speed.toml" -j 1
    rm -rf "$WORK/out-read"
    timed tria-read-write-1core taskset -c 0 "$TRIA" run --input "$WORK/s/*.warc.wet.gz" \
        --output "$WORK/out-read" -j 1
    timed tria-read-only-1core taskset -c 0 "$TARGET/release/read-bench" "$WORK"/s/*.gz
    grep -h "tria\b\|docs" "$WORK/out-tria-read-only-1core.log" | head -3 || true
    rm -rf "$WORK/dt"
    timed datatrove-pipeline-1core taskset -c 0 "$venv/bin/python" bench/e2e/datatrove_pipeline.py \
        "$WORK/s" "$WORK/dt" "$FT176" "$tok" filters/stopwords
    tail -1 "$WORK/out-datatrove-pipeline-1core.log"
    python3 - "$WORK" <<'EOF'
import json, sys
w = sys.argv[1]
r = json.load(open(f"{w}/out-s/report.json"))
print("tria per language:", {k: v for k, v in r["languages"].items()})
EOF
}

rss() {
    machine
    for size in "$@"; do
        gen "r$size" --size "$size" --file-size 64M --seed 3 --no-corrupt
        sed -e "s#@INPUT@#$WORK/r$size/*.warc.wet.gz#" -e "s#@OUT@#$WORK/out-r$size#" \
            -e "s#@TOK@#$WORK/tok/tokenizer.json#" bench/e2e/speed.toml.in > "$WORK/rss.toml"
        rm -rf "$WORK/out-r$size"
        echo "input $size: $(du -sb "$WORK/r$size" | cut -f1) bytes, $(wc -l < "$WORK/r$size/truth.jsonl") records"
        for step in filter dedup-signatures dedup-pairs dedup-clusters dedup-filter tokenize report; do
            timed "rss-$size-$step" "$TRIA" run "$WORK/rss.toml" --step "$step" --ranks 1 --rank 0 -j 2
        done
        rm -rf "$WORK/out-r$size"
        [ "$size" = "${KEEP_INPUT:-}" ] || rm -rf "$WORK/r$size"
    done
}

case ${1:-all} in
    quality) quality "${2:-20000}" ;;
    speed) speed "${2:-10000}" ;;
    rss) shift; rss "$@" ;;
    all)
        quality 20000
        speed 10000
        rss 100M 500M 2G
        ;;
    *) sed -n 2,13p "$0"; exit 2 ;;
esac
