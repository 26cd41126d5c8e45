#!/usr/bin/env python3
"""Language-ID accuracy, speed and memory: tria builtin vs lid.176 vs lingua (high/low) vs whatlang.

All backends run in one invocation of this script, on the same machine and the same data:
  1. the held-out split of ../shared/data/lid (lines whose content hash puts them in the trainer's
     5 % validation split, `is_validation_line(line, 50)`: the built-in model never trained on them);
  2. lingua's own test sentences (testdata/sentences.txt of each lingua-<language>-language-model
     crate that cargo fetched into ~/.cargo/registry), for the tria languages lingua knows.
Each backend is run by the `lid` example of tria-filters (`lid eval MODEL DIR [PERMILLE] [JSON]`),
pinned to one core with `taskset -c 0`; sentences/s is the evaluator's own count over that run
(prediction only, one thread) and memory is the process's maximum RSS from /usr/bin/time.

Usage: bench/lid/bench.py [--quick] [BACKEND...]
  --quick: no lingua (builtin, lid.176, whatlang). BACKEND names (builtin, lid.176, whatlang,
  lingua, lingua-low) re-run only those and reuse the others' results from bench/work/lid.
Writes bench/work/lid/*.json and prints Markdown tables for bench/RESULTS.md.
"""
import glob, json, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared")
WORK = os.path.join(ROOT, "bench", "work", "lid")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXE = os.path.join(TARGET, "release", "examples", "lid")
LINGUA_TO_TRIA = {
    "bulgarian": "bg", "catalan": "ca", "czech": "cs", "welsh": "cy", "danish": "da", "german": "de",
    "greek": "el", "english": "en", "spanish": "es", "estonian": "et", "basque": "eu", "finnish": "fi",
    "french": "fr", "irish": "ga", "croatian": "hr", "hungarian": "hu", "italian": "it",
    "lithuanian": "lt", "latvian": "lv", "dutch": "nl", "nynorsk": "nn", "bokmal": "no", "polish": "pl",
    "portuguese": "pt", "romanian": "ro", "russian": "ru", "bosnian": "sh", "serbian": "sr",
    "slovak": "sk", "slovene": "sl", "swedish": "sv", "ukrainian": "uk",
}


def lingua_sentences():
    out = os.path.join(WORK, "lingua-sentences")
    os.makedirs(out, exist_ok=True)
    found = 0
    for name, code in LINGUA_TO_TRIA.items():
        hits = sorted(glob.glob(os.path.expanduser(
            f"~/.cargo/registry/src/*/lingua-{name}-language-model-*/testdata/sentences.txt")))
        if not hits:
            continue
        with open(hits[-1], encoding="utf-8") as f, open(os.path.join(out, code + ".txt"), "w") as g:
            g.write(f.read())
        found += 1
    return out, found


def run(model, data, permille, tag):
    js = os.path.join(WORK, f"{tag}.json")
    cmd = ["taskset", "-c", "0", "/usr/bin/time", "-v", EXE, "eval", model, data,
           str(permille) if permille is not None else "1000", js]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{tag} failed")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", p.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", p.stderr).group(1))
    with open(js) as f:
        r = json.load(f)
    r["max_rss_mib"] = rss / 1024
    r["cpu_seconds"] = user + system
    # Lines per CPU-second of the whole process (model loading included): robust to other load
    # on the machine, unlike the evaluator's wall-clock figure.
    r["sentences_per_cpu_second"] = r["lines"] / max(user + system, 1e-9)
    return r


def predict_rss(model, lines_file):
    """Max RSS (MiB) of `lid predict MODEL` over a small mixed-language input: the backend's own
    memory (model + runtime), without the evaluator's in-memory corpus."""
    with open(lines_file, "rb") as f:
        p = subprocess.run(["/usr/bin/time", "-v", EXE, "predict", model, "1"], stdin=f,
                           capture_output=True)
    if p.returncode != 0:
        raise SystemExit(f"predict {model} failed")
    err = p.stderr.decode()
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1)) / 1024


def main():
    quick = "--quick" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    os.makedirs(WORK, exist_ok=True)
    feats = "whatlang" if quick else "whatlang,lingua"
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "tria-filters", "--example", "lid",
                    "--features", feats], cwd=ROOT, check=True, env=env)
    backends = ["builtin", os.path.join(SHARED, "lid.176.ftz"), "whatlang"]
    if not quick:
        backends += ["lingua", "lingua-low"]
    names = {b: ("lid.176" if b.endswith("lid.176.ftz") else b) for b in backends}
    if only:  # re-run some backends, reuse the other results of an earlier run
        backends = [b for b in backends if names[b] in only] + [b for b in backends if names[b] not in only]
    sets = [("held-out", os.path.join(SHARED, "data", "lid"), 50)]
    ldir, n = lingua_sentences()
    if n:
        sets.append(("lingua-sentences", ldir, None))
    results = {}
    for sname, d, pm in sets:
        for b in backends:
            tag = f"{sname}.{names[b]}"
            old = os.path.join(WORK, f"{tag}.full.json")
            if only and names[b] not in only and os.path.exists(old):
                with open(old) as f:
                    results[(sname, names[b])] = json.load(f)
                continue
            print(f"running {tag} ...", file=sys.stderr)
            results[(sname, names[b])] = run(b, d, pm, tag)
            with open(old, "w") as f:
                json.dump(results[(sname, names[b])], f)
    # A mixed input for the memory figure: every 16th lingua test sentence (all languages).
    mixed = os.path.join(WORK, "mixed-2000.txt")
    with open(mixed, "w") as g:
        for path in sorted(glob.glob(os.path.join(ldir, "*.txt"))):
            with open(path) as f:
                g.writelines(l for i, l in enumerate(f) if i % 16 == 0)
    rss = {names[b]: predict_rss(b, mixed) for b in backends}
    for sname, _, _ in sets:
        cols = [names[b] for b in backends]
        print(f"\n### {sname}: accuracy % per label\n")
        print("| label | " + " | ".join(cols) + " |")
        print("|---|" + "---:|" * len(cols))
        labels = sorted(results[(sname, cols[0])]["per_label"].keys(), key=lambda l: (l == "other", l))
        for lab in labels:
            row = []
            for c in cols:
                e = results[(sname, c)]["per_label"].get(lab)
                row.append(f"{100 * e['accuracy']:.2f}" if e else "-")
            print(f"| {lab} | " + " | ".join(row) + " |")
        row = []
        for c in cols:
            g = results[(sname, c)].get("hr_sh_group")
            row.append(f"{100 * g['accuracy']:.2f}" if g else "-")
        print("| {hr,sh} | " + " | ".join(row) + " |")
        print("| macro | " + " | ".join(f"{100 * results[(sname, c)]['macro_accuracy']:.2f}" for c in cols) + " |")
        print("| sentences per CPU-second (1 core, load included) | " + " | ".join(
            f"{results[(sname, c)]['sentences_per_cpu_second']:.0f}" for c in cols) + " |")
        print("| sentences/s wall clock (shared machine) | " + " | ".join(
            f"{results[(sname, c)]['sentences_per_second']:.0f}" for c in cols) + " |")
        print("| max RSS MiB, eval (corpus in memory) | " + " | ".join(
            f"{results[(sname, c)]['max_rss_mib']:.0f}" for c in cols) + " |")
        print("| max RSS MiB, predict 2,000 mixed lines | " + " | ".join(f"{rss[c]:.0f}" for c in cols) + " |")
    with open(os.path.join(WORK, "summary.json"), "w") as f:
        json.dump({f"{k[0]}.{k[1]}": v for k, v in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
