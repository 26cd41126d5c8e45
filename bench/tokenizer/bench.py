"""Tokenizer benchmarks: training vs HF tokenizers (Python), scaling, memory budget, encoding
vs HF batch encoding and tiktoken, shard writing vs the disk. Writes bench/tokenizer/out/*.json
and prints Markdown rows for bench/RESULTS.md.

Corpus: the 35 per-language files of ../shared/data/lid (one sentence/paragraph per line, ~46 MB),
every 10th line held out for bytes-per-token, the rest repeated to reach each size (repetition
adds no new distinct words: the word table stays that of ~41 MB of text).

usage: python bench/tokenizer/bench.py [train|scale|budget|encode|write|compat|all] (from the repo root)
"""
import glob, json, math, os, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "bench", "tokenizer", "out")
VENV = os.path.join(ROOT, "bench", ".venv-tokenizer")
PY = os.path.join(VENV, "bin", "python")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
TOKBENCH = os.path.join(TARGET, "release", "examples", "tokbench")
LANGS = "bg ca cs cy da de el en es et eu fi fr ga gl hr hu it lt lv mt nl nn no oc pl pt ro ru sh sk sl sr sv uk".split()
HOLDOUT = 10
VOCAB = 32000


def files():
    d = os.path.join(ROOT, "..", "shared", "data", "lid")
    fs = [os.path.join(d, f"{l}.txt") for l in LANGS]
    missing = [f for f in fs if not os.path.exists(f)]
    if missing:
        sys.exit(f"SKIP: corpus missing: {missing[0]}")
    return fs


def train_bytes(fs):
    n = 0
    for f in fs:
        with open(f, encoding="utf-8") as fh:
            n += sum(len(l.rstrip("\n").encode()) for i, l in enumerate(fh) if i % HOLDOUT)
    return n


def setup():
    if not os.path.exists(PY):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([PY, "-m", "pip", "install", "-q", "tokenizers", "tiktoken", "numpy", "megatron-core"])
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "tria-tokenizer", "--example", "tokbench"],
                          cwd=ROOT, env=env)
    os.makedirs(OUT, exist_ok=True)


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["wall_s"] = round(time.perf_counter() - t0, 3)
    return res


def bpt(tok, fs):
    return run([TOKBENCH, "bpt", "--tokenizer", tok, "--holdout-every", str(HOLDOUT), *fs])["bytes_per_token"]


def save(name, obj):
    with open(os.path.join(OUT, name), "w") as fh:
        json.dump(obj, fh, indent=1)
    print(json.dumps(obj))


def bench_train(fs, target_mb=100):
    tb = train_bytes(fs)
    rep = math.ceil(target_mb * 1e6 / tb)
    ours_tok = os.path.join(OUT, "tria-byte.json")
    hf_tok = os.path.join(OUT, "hf-byte.json")
    ours = run([TOKBENCH, "train", "--model", "byte", "--vocab", str(VOCAB), "--repeat", str(rep),
                "--holdout-every", str(HOLDOUT), "--out", ours_tok, *fs])
    hf = run([PY, os.path.join(ROOT, "bench", "tokenizer", "hf_train.py"), str(VOCAB), str(rep), str(HOLDOUT), hf_tok, *fs])
    res = {"text_mb": round(tb * rep / 1e6, 1), "vocab": VOCAB, "tria": ours, "hf": hf,
           "tria_bpt": bpt(ours_tok, fs), "hf_bpt": bpt(hf_tok, fs)}
    res["speedup"] = round(hf["wall_s"] / ours["wall_s"], 2)
    res["rss_ratio"] = round(ours["peak_rss_mib"] / hf["peak_rss_mib"], 3)
    res["bpt_diff_pct"] = round(100 * (res["tria_bpt"] - res["hf_bpt"]) / res["hf_bpt"], 3)
    save("train.json", res)


def bench_scale(fs, sizes=(100, 1000, 5000)):
    tb = train_bytes(fs)
    rows = []
    for mb in sizes:
        rep = math.ceil(mb * 1e6 / tb)
        tok = os.path.join(OUT, f"scale-{mb}.json")
        r = run([TOKBENCH, "train", "--model", "byte", "--vocab", str(VOCAB), "--repeat", str(rep),
                 "--holdout-every", str(HOLDOUT), "--out", tok, *fs])
        r["text_mb"] = round(tb * rep / 1e6, 1)
        r["mb_per_s"] = round(r["text_mb"] / r["wall_s"], 1)
        rows.append(r)
        print(json.dumps(r))
    save("scale.json", rows)


def bench_budget(fs):
    tb = train_bytes(fs)
    rep = math.ceil(100e6 / tb)
    rows = []
    for budget in [None, 32 << 20, 8 << 20]:
        tok = os.path.join(OUT, f"budget-{budget}.json")
        cmd = [TOKBENCH, "train", "--model", "byte", "--vocab", str(VOCAB), "--repeat", str(rep),
               "--holdout-every", str(HOLDOUT), "--out", tok, *fs]
        if budget:
            cmd += ["--budget", str(budget)]
        r = run(cmd)
        r["budget"] = budget
        r["bpt"] = bpt(tok, fs)
        rows.append(r)
        print(json.dumps(r))
    save("budget.json", rows)


def bench_encode(fs):
    tok = os.path.join(OUT, "tria-byte.json")
    if not os.path.exists(tok):
        sys.exit("run `bench.py train` first (it makes the tokenizer)")
    ours = run([TOKBENCH, "encode", "--tokenizer", tok, "--out", os.path.join(OUT, "enc"), *fs])
    peers = subprocess.run([PY, os.path.join(ROOT, "bench", "tokenizer", "encode_peers.py"), tok, "1", "2", *fs],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()
    save("encode.json", {"tria": ours, "peers": [json.loads(p) for p in peers]})


def bench_write():
    prefix = os.path.join(OUT, "write")
    ours = run([TOKBENCH, "write", "--vocab", str(VOCAB), "--tokens", "500", "--out", prefix])
    p = subprocess.run(["dd", "if=/dev/zero", f"of={prefix}.dd", "bs=1M", "count=1000", "conv=fdatasync"],
                       capture_output=True, text=True)
    os.remove(prefix + ".dd")
    for ext in (".bin", ".idx", ".json"):
        os.remove(prefix + ext)
    save("write.json", {"tria": ours, "dd": p.stderr.strip().splitlines()[-1]})


def bench_compat(fs):
    """Shards for megatron-core: byte-level 32k (uint16), SentencePiece-style 32k (uint16),
    byte-level 70k (int32); documents: the Basque and Galician files."""
    docs = os.path.join(OUT, "compat-docs.txt")
    with open(docs, "w", encoding="utf-8") as out:
        for l in ("eu", "gl"):
            with open(os.path.join(ROOT, "..", "shared", "data", "lid", f"{l}.txt"), encoding="utf-8") as fh:
                out.write(fh.read())
    args = []
    for name, model, vocab in (("byte32k", "byte", 32000), ("sp32k", "sp", 32000), ("byte70k", "byte", 70000)):
        tok = os.path.join(OUT, f"tokenizer-{name}.json")
        run([TOKBENCH, "train", "--model", model, "--vocab", str(vocab), "--out", tok, *fs])
        prefix = os.path.join(OUT, f"compat-{name}")
        run([TOKBENCH, "encode", "--tokenizer", tok, "--out", prefix, docs])
        args += [tok, prefix, docs]
    p = subprocess.run([PY, os.path.join(ROOT, "bench", "tokenizer", "compat_megatron.py"), *args],
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"compat failed:\n{p.stdout}\n{p.stderr}")
    save("compat.json", [json.loads(l) for l in p.stdout.strip().splitlines()])


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    fs = files()
    setup()
    if what in ("train", "all"):
        bench_train(fs)
    if what in ("scale", "all"):
        bench_scale(fs)
    if what in ("budget", "all"):
        bench_budget(fs)
    if what in ("encode", "all"):
        bench_encode(fs)
    if what in ("write", "all"):
        bench_write()
    if what in ("compat", "all"):
        bench_compat(fs)
