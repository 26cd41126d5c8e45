#!/usr/bin/env python3
"""Compare tria's pure-Rust fastText predictor with the reference fastText (pip fasttext-wheel).

Builds >= 10,000 test lines (every 40th line of each ../shared/data/lid/*.txt file, plus edge
cases: empty lines, numbers, symbols, mixed scripts, very long lines, label-like tokens), runs the
reference `model.predict(line, k=K)` and tria's `lid` example on the same lines, and checks that the
top label is identical on every line and every probability is within 1e-4.

Usage: bench/lid/compare_fasttext.py [MODEL] [--k K]   (default MODEL ../shared/lid.176.ftz, K 3)
Needs bench/.venv-lid (created by bench/lid/setup.sh) and cargo.
"""
import os, subprocess, sys, glob, argparse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data", "lid")

def test_lines():
    lines = ["", " ", "12345 678", "!!! ??? ...", "https://example.com/a?b=c", "__label__en",
             "__label__fr bonjour", "\t tab\tseparated\x0bline\x0cff", "a", "ñ", "日本語のテキスト",
             "Ελληνικά και English mixed", "x" * 5000, " ".join(["paraula"] * 3000),
             "Привет, как дела? Hello!", "ﬁ ligature and ß and İstanbul", "\x00null\x00byte",
             "emoji 😀😀 text", "\r carriage \r return"]
    for path in sorted(glob.glob(os.path.join(DATA, "*.txt"))):
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i % 40 == 0:
                    lines.append(line.rstrip("\n"))
    return lines

def main():
    try:
        import fasttext  # noqa: F401
    except ImportError:
        venv_py = os.path.join(ROOT, "bench", ".venv-lid", "bin", "python")
        if not os.path.exists(venv_py):
            subprocess.run([os.path.join(ROOT, "bench", "lid", "setup.sh")], check=True)
        os.execv(venv_py, [venv_py] + sys.argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, "..", "shared", "lid.176.ftz"))
    ap.add_argument("--k", type=int, default=3)
    a = ap.parse_args()
    import fasttext
    fasttext.FastText.eprint = lambda *x, **y: None
    m = fasttext.load_model(a.model)
    lines = test_lines()
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    # LID_FEATURES: build with the same features as bench.py (e.g. "whatlang,lingua") so the two
    # scripts share one binary.
    feats = ["--features", env["LID_FEATURES"]] if env.get("LID_FEATURES") else []
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "tria-filters", "--example", "lid"] + feats,
                   cwd=ROOT, check=True, env=env)
    exe = os.path.join(env["CARGO_TARGET_DIR"], "release", "examples", "lid")
    inp = "".join(l + "\n" for l in lines).encode("utf-8")
    out = subprocess.run([exe, "raw", a.model, str(a.k)], input=inp, capture_output=True, check=True).stdout
    got = out.decode("utf-8").split("\n")[:-1]
    assert len(got) == len(lines), (len(got), len(lines))
    top_bad = prob_bad = ties = 0
    maxdiff = 0.0
    for line, g in zip(lines, got):
        ref = [(lab.replace("__label__", ""), float(p)) for p, lab in m.f.predict(line + "\n", a.k, 0.0, "strict")]
        f = g.split("\t") if g else []
        mine = [(f[i], float(f[i + 1])) for i in range(0, len(f), 2)]
        if (ref[:1] and mine[:1] and ref[0][0] != mine[0][0]) or (len(ref) != len(mine)):
            top_bad += 1
            if top_bad <= 10:
                print("TOP MISMATCH", repr(line[:80]), ref, mine)
            continue
        d = {lab: p for lab, p in mine}
        bad = False
        for (lab, p), (mlab, mp) in zip(ref, mine):
            # Same label: its probability must agree. Different label at the same rank: only a
            # tie (both probabilities within 1e-4, e.g. 1e-5 floors) is acceptable.
            diff = abs(p - d[lab]) if lab in d else abs(p - mp)
            maxdiff = max(maxdiff, diff)
            if lab != mlab:
                ties += 1
            if diff > 1e-4:
                bad = True
        if bad:
            prob_bad += 1
            if prob_bad <= 10:
                print("PROB MISMATCH", repr(line[:80]), ref, mine)
    print(f"model={os.path.basename(a.model)} lines={len(lines)} k={a.k} top1_mismatches={top_bad} "
          f"prob_mismatches(>1e-4)={prob_bad} max_abs_prob_diff={maxdiff:.2e} "
          f"tie_order_differences_below_top1={ties}")
    sys.exit(1 if top_bad or prob_bad else 0)

if __name__ == "__main__":
    main()
