#!/usr/bin/env python3
"""Scores a tria run on a corpus made by `gen-corpus` against its truth.

Usage:
  score.py --truth OUT/truth.jsonl --filtered DIR --final DIR --report report.json
           [--exit-code N] [--json score.json]

--filtered: the documents after language ID and quality filters (`<lang>/*.jsonl.zst`), with the
            rejects of every stage under `_rejects/` (each dropped document carries `meta.lang`).
--final:    the documents after dedup (what training would get).
--report:   the filter run's report.json (reader repairs and skips, failed files).

Figures (documents are matched on `id`, the WARC-Record-ID):
- language F1 for ca, eu, gl: the `meta.lang` the run gave each good, exact-dup and near-dup
  document (kept or rejected) against its true language;
- near-duplicate recall: a planted pair (true word 5-shingle Jaccard >= 0.8) of a target language
  counts as found when exactly one of the two reaches the final output; pairs where neither passed
  the filters are not counted (dedup never saw them);
- good documents lost: good (not planted as a duplicate, not low quality) documents of ca, eu, gl
  that are not in the final output, with where they were lost;
- corrupted records: each planted kind against the report's reader counters, and the truncated
  file among the report's failures.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

TARGETS = ["ca", "eu", "gl"]
# Planted corruption -> the reader's counter that must count it (a substring of its key).
READ_REASON = {
    "wrong_content_length": "wrong_content_length",
    "malformed_header": "malformed_header",
    "binary_junk": "malformed_header",
    "invalid_utf8": "invalid_utf8",
}


def read_docs(path):
    if path.endswith(".gz"):
        import gzip

        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
    elif path.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
        lines = data.decode("utf-8").split("\n")
    else:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    for line in lines:
        if line.strip():
            yield json.loads(line)


def doc_files(root):
    out = []
    for ext in ("*.jsonl.zst", "*.jsonl", "*.jsonl.gz"):
        out += glob.glob(os.path.join(root, "**", ext), recursive=True)
    return sorted(p for p in out if "/.tria/" not in p and "/.work/" not in p)


def scan(root):
    """id -> (lang, stage that rejected it or None) for every document under root."""
    seen = {}
    for path in doc_files(root):
        rel = os.path.relpath(path, root).split(os.sep)
        stage = rel[rel.index("_rejects") + 1] if "_rejects" in rel else None
        for d in read_docs(path):
            meta = d.get("meta") or d.get("metadata") or {}
            reason = meta.get("reject_reason") or meta.get("reason") or (d.get("attrs") or {}).get("reject_reason")
            seen[d["id"]] = (meta.get("lang") or meta.get("language"), stage, reason)
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth", required=True)
    ap.add_argument("--filtered", required=True)
    ap.add_argument("--final", required=True)
    ap.add_argument("--report", required=True, action="append")
    ap.add_argument("--exit-code", type=int, default=None)
    ap.add_argument("--completed", choices=["yes", "no"], default="yes",
                    help="whether the one command ran every step (no: steps had to be run by hand)")
    ap.add_argument("--json")
    a = ap.parse_args()

    truth = [json.loads(l) for l in open(a.truth, encoding="utf-8") if l.strip()]
    by_id = {t["id"]: t for t in truth}
    filtered = scan(a.filtered)
    final = {i for i, (_, stage, _) in scan(a.final).items() if stage is None}
    kept_filter = {i for i, (_, stage, _) in filtered.items() if stage is None}
    res = {"records": len(truth), "kinds": dict(Counter(t["kind"] for t in truth))}

    # Language F1 on real documents (good and planted duplicates).
    evalset = [t for t in truth if t["kind"] in ("good", "exact-dup", "near-dup")]
    conf = Counter()
    f1 = {}
    for lang in TARGETS:
        tp = fp = fn = 0
        for t in evalset:
            pred = filtered.get(t["id"], (None, None, None))[0]
            if t["lang"] == lang and pred == lang:
                tp += 1
            elif t["lang"] == lang:
                fn += 1
                conf[(t["lang"], pred)] += 1
            elif pred == lang:
                fp += 1
                conf[(t["lang"], pred)] += 1
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1[lang] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
        }
    res["lang_f1"] = f1
    # The same, on the documents the reader delivered (what language ID itself got wrong).
    f1_seen = {}
    for lang in TARGETS:
        tp = fp = fn = 0
        for t in evalset:
            if t["id"] not in filtered:
                continue
            pred = filtered[t["id"]][0]
            tp += t["lang"] == lang and pred == lang
            fn += t["lang"] == lang and pred != lang
            fp += t["lang"] != lang and pred == lang
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1_seen[lang] = 2 * p * r / (p + r) if p + r else 0.0
    res["lang_f1_delivered_docs_only"] = f1_seen
    res["lang_confusions"] = {f"{k[0]}->{k[1]}": v for k, v in conf.most_common(20)}
    unseen = sum(1 for t in evalset if t["id"] not in filtered)
    res["eval_docs_never_seen_in_output_or_rejects"] = unseen

    # Near- and exact-duplicate recall.
    dup = {}
    for kind in ("near-dup", "exact-dup"):
        pairs = [t for t in truth if t["kind"] == kind and t["lang"] in TARGETS]
        if kind == "near-dup":
            pairs = [t for t in pairs if t["jaccard"] >= 0.8]
        seen = found = both = 0
        for t in pairs:
            a_, b_ = t["of"], t["id"]
            if a_ not in kept_filter and b_ not in kept_filter:
                continue
            seen += 1
            n = (a_ in final) + (b_ in final)
            if n == 1:
                found += 1
            elif n == 2:
                both += 1
        dup[kind] = {
            "pairs": len(pairs),
            "evaluated": seen,
            "found": found,
            "both_kept": both,
            "recall": found / seen if seen else 0.0,
        }
    res["dedup"] = dup

    # Good documents lost, and where.
    good = [t for t in truth if t["kind"] == "good" and t["lang"] in TARGETS]
    where = Counter()
    per_lang = defaultdict(lambda: [0, 0])
    for t in good:
        per_lang[t["lang"]][0] += 1
        if t["id"] in final:
            continue
        per_lang[t["lang"]][1] += 1
        lang, stage, _ = filtered.get(t["id"], (None, None, None))
        if t["id"] not in filtered:
            where["never_seen"] += 1
        elif stage is not None:
            where[f"{stage}" + (f" (as {lang})" if stage == "lang" else "")] += 1
        else:
            where["dedup"] += 1
    lost = sum(v[1] for v in per_lang.values())
    res["good"] = {
        "docs": len(good),
        "lost": lost,
        "lost_share": lost / len(good) if good else 0.0,
        "lost_where": dict(where.most_common()),
        "per_lang": {k: {"docs": v[0], "lost": v[1]} for k, v in sorted(per_lang.items())},
    }

    # Low-quality pages of the target languages: how many reached the final output.
    lq = [t for t in truth if t["kind"] == "low-quality" and t["lang"] in TARGETS]
    lq_left = Counter(t["sub"] for t in lq if t["id"] in final)
    res["low_quality"] = {
        "docs": len(lq),
        "in_final": sum(lq_left.values()),
        "in_final_by_sub": dict(lq_left),
    }

    # Corrupted records against the reader's counters and the failures.
    read = Counter()
    failures = []
    failed_files = 0
    for path in a.report:
        rep = json.load(open(path, encoding="utf-8"))
        # A multi-step run's report.json holds the filter step's report under "filter".
        rep = rep.get("filter", rep)
        for k, v in (rep.get("read") or {}).items():
            read[k] += v
        failures += rep.get("failures") or []
        failed_files += (rep.get("files") or {}).get("failed", 0)
    planted = Counter(t["sub"] for t in truth if t["kind"] == "corrupted")
    expect = Counter()
    for sub, n in planted.items():
        if sub in READ_REASON:
            expect[READ_REASON[sub]] += n
    counted = {}
    ok = True
    for reason, n in sorted(expect.items()):
        got = sum(v for k, v in read.items() if reason in k)
        counted[reason] = {"planted": n, "counted": got}
        ok &= got == n
    cut_files = sorted({t["file"] for t in truth if t.get("sub") == "truncated_gzip"})
    failed = [f for f in cut_files if any(f in (x.get("file") or "") for x in failures)]
    # Without the failure list (a multi-step report keeps only the count), the count must match.
    n_failed = len(failed) if failures else failed_files
    counted["truncated_gzip"] = {"planted": len(cut_files), "counted": n_failed}
    ok &= n_failed == len(cut_files)
    res["corrupted"] = {
        "planted": dict(planted),
        "by_reason": counted,
        "report_read": dict(read),
        "failures": failures,
        "failed_files": failed_files,
        "all_counted": ok,
        "exit_code": a.exit_code,
        "no_crash": a.exit_code in (0, 1) if a.exit_code is not None else None,
        "all_steps_ran": a.completed == "yes",
    }

    checks = {
        "lang_f1_ge_99": all(f1[l]["f1"] >= 0.99 for l in TARGETS),
        "near_dup_recall_ge_95": dup["near-dup"]["recall"] >= 0.95,
        "good_lost_lt_2": res["good"]["lost_share"] < 0.02,
        "corrupted_all_counted": ok,
        "run_went_on": (a.exit_code in (0, 1) if a.exit_code is not None else True) and a.completed == "yes",
    }
    res["targets"] = checks

    print(f"records: {len(truth)}  kinds: {res['kinds']}")
    for l in TARGETS:
        x = f1[l]
        print(f"lang {l}: F1 {100 * x['f1']:.2f} %  (P {100 * x['precision']:.2f}, R {100 * x['recall']:.2f}; "
              f"tp {x['tp']} fp {x['fp']} fn {x['fn']})")
    if conf:
        print("  confusions (true->predicted):", ", ".join(f"{k}: {v}" for k, v in res["lang_confusions"].items()))
    for kind, x in dup.items():
        print(f"{kind} recall: {100 * x['recall']:.2f} %  ({x['found']} of {x['evaluated']} pairs; both kept {x['both_kept']})")
    g = res["good"]
    print(f"good docs lost: {100 * g['lost_share']:.2f} %  ({g['lost']} of {g['docs']}; {g['lost_where']})")
    ns = g["lost_where"].get("never_seen", 0)
    print(f"  of which never delivered by the reader: {ns}; lost by the pipeline's stages: "
          f"{100 * (g['lost'] - ns) / max(g['docs'], 1):.2f} %")
    print("  language F1 on delivered documents only: "
          + ", ".join(f"{l} {100 * v:.2f} %" for l, v in f1_seen.items()))
    print(f"low-quality pages of ca/eu/gl in the final output: {res['low_quality']['in_final']} of {len(lq)} "
          f"{res['low_quality']['in_final_by_sub']}")
    print(f"corrupted: {counted}; exit code {a.exit_code}; failures {len(failures)}")
    for k, v in checks.items():
        print(f"  {'PASS' if v else 'FAIL'}  {k}")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
