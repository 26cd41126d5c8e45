#!/usr/bin/env python3
"""Runs tria (the `extract-bench` binary) and trafilatura on the same HTML pages; scores both.

Usage: compare.py WORK_DIR TRIA_BIN [--real REAL_DIR --judged judged.tsv] [--repeat N]
WORK_DIR holds pages/*.html and gold/*.txt (from gen_pages.py). Each tool's outputs go to
WORK_DIR/out-tria and WORK_DIR/out-trafilatura. REAL_DIR holds pages dumped from the real WARC
fixtures (`extract-bench dump-warc`); their gold is built from judged.tsv: the line ranges of each
page's whole text (tria's `extract = "all"` output) judged by hand to be its main content.

Scores are token-level: a token is a maximal run of letters/digits, lowercased, or one
Han/kana/hangul character; precision,
recall and F1 compare the token multisets of the output and of the gold text (micro: summed over
pages; macro: mean of per-page F1, an empty output scoring 0). Speed: extraction only (pages
already in memory), one thread each; run under `taskset -c 0` for one core.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import time

import trafilatura

# Han, kana and hangul characters are tokens one by one (those scripts do not space words);
# elsewhere a token is a maximal run of letters and digits.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN = re.compile("[%s]|[^\\W%s]+" % (CJK, CJK))


def tokens(text):
    return collections.Counter(TOKEN.findall(text.lower()))


def score(outputs, golds):
    tp = n_out = n_gold = 0
    f1s = []
    for name, gold in golds.items():
        g = tokens(gold)
        o = tokens(outputs.get(name, ""))
        inter = sum((g & o).values())
        so, sg = sum(o.values()), sum(g.values())
        tp, n_out, n_gold = tp + inter, n_out + so, n_gold + sg
        p = inter / so if so else 0.0
        r = inter / sg if sg else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    p = tp / n_out if n_out else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "macro_f1": sum(f1s) / max(len(f1s), 1), "pages": len(golds)}


def read_dir(d, ext):
    out = {}
    for p in sorted(glob.glob(os.path.join(d, "*" + ext))):
        with open(p, encoding="utf-8", errors="replace") as f:
            out[os.path.basename(p)[: -len(ext)]] = f.read()
    return out


def run_trafilatura(pages, out_dir, repeat):
    os.makedirs(out_dir, exist_ok=True)
    outs = {}
    start = time.perf_counter()
    for _ in range(repeat):
        for name, html in pages.items():
            outs[name] = trafilatura.extract(html, include_comments=False, include_tables=True) or ""
    secs = time.perf_counter() - start
    for name, text in outs.items():
        with open(os.path.join(out_dir, name + ".txt"), "w", encoding="utf-8") as f:
            f.write(text)
    n = len(pages) * repeat
    return outs, {"tool": "trafilatura " + trafilatura.__version__, "pages": len(pages), "repeat": repeat,
                  "seconds": secs, "pages_per_s": n / secs}


def judged_golds(binary, real_dir, judged):
    """Gold texts of the real pages: the judged line ranges of their `all` text."""
    all_dir = os.path.join(real_dir, "out-all")
    subprocess.run([binary, "run", os.path.join(real_dir, "pages"), all_dir, "--mode", "all"],
                   check=True, capture_output=True)
    golds = {}
    with open(judged, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, ranges = line.rstrip("\n").split("\t")
            with open(os.path.join(all_dir, name + ".txt"), encoding="utf-8") as t:
                lines = t.read().split("\n")
            keep = []
            for r in ranges.split(","):
                a, b = (int(x) for x in r.split("-"))
                keep.extend(lines[a - 1:b])
            golds[name] = "\n".join(keep)
    return golds


def run_tria(binary, pages_dir, out_dir, repeat):
    res = subprocess.run([binary, "run", pages_dir, out_dir, "--repeat", str(repeat)],
                         check=True, capture_output=True, text=True)
    stats = json.loads(res.stdout.strip().splitlines()[-1])
    return read_dir(out_dir, ".txt"), stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("tria_bin")
    ap.add_argument("--real")
    ap.add_argument("--judged")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--tria-repeat", type=int, default=20)
    a = ap.parse_args()
    report = {}
    sets = [("generated", a.work)] + ([("real", a.real)] if a.real else [])
    for label, d in sets:
        pages = read_dir(os.path.join(d, "pages"), ".html")
        if label == "real":
            golds = judged_golds(a.tria_bin, d, a.judged) if a.judged else {}
        else:
            golds = read_dir(os.path.join(d, "gold"), ".txt")
        traf, traf_speed = run_trafilatura(pages, os.path.join(d, "out-trafilatura"), a.repeat)
        tria, tria_speed = run_tria(a.tria_bin, os.path.join(d, "pages"), os.path.join(d, "out-tria"), a.tria_repeat)
        entry = {"pages": len(pages), "bytes": sum(len(h.encode()) for h in pages.values()),
                 "speed": {"tria": tria_speed, "trafilatura": traf_speed,
                           "ratio": tria_speed["pages_per_s"] / traf_speed["pages_per_s"]}}
        if golds:
            # The whole text of each page (`extract = "all"`): the baseline extraction must beat.
            all_dir = os.path.join(d, "out-all")
            subprocess.run([a.tria_bin, "run", os.path.join(d, "pages"), all_dir, "--mode", "all"],
                           check=True, capture_output=True)
            whole = read_dir(all_dir, ".txt")
            entry["quality"] = {"tria": score(tria, golds), "trafilatura": score(traf, golds),
                                "tria_all_text": score(whole, golds)}
            entry["judged_pages"] = len(golds)
            # Per source, for the real pages (the ClueWeb pages all come from one shop).
            if label == "real":
                by_src = {}
                for src in sorted({n.rsplit("-", 1)[0] for n in golds}):
                    g = {n: t for n, t in golds.items() if n.rsplit("-", 1)[0] == src}
                    by_src[src] = {"pages": len(g), "tria": score(tria, g)["f1"],
                                   "trafilatura": score(traf, g)["f1"]}
                entry["by_source"] = by_src
            # Per template family (page number modulo 5, as gen_pages.py assigns them).
            if label == "generated":
                fam = {}
                for k in range(5):
                    g = {n: t for n, t in golds.items() if int(n.rsplit("-", 1)[1]) % 5 == k}
                    fam[k] = {"tria": score(tria, g)["f1"], "trafilatura": score(traf, g)["f1"]}
                entry["by_template"] = fam
                langs = sorted({n.split("-")[0] for n in golds})
                entry["by_language"] = {
                    lang: {t: score(o, {n: g for n, g in golds.items() if n.startswith(lang + "-")})["f1"]
                           for t, o in (("tria", tria), ("trafilatura", traf))}
                    for lang in langs}
        # Agreement of the two tools with each other, on every page (no gold needed).
        entry["tria_vs_trafilatura"] = score(tria, traf)
        report[label] = entry
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
