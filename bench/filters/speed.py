#!/usr/bin/env python3
"""Throughput of the whole quality filter set, tria vs datatrove, on the same documents, one core each.

Filters: Gopher quality, Gopher repetition, C4, FineWeb and PII redaction (e-mail + IP), each applied to
every document's original text (as parity.py does). datatrove runs in this process with its default
word tokenizer per language (spaCy; Portuguese's for Galician, whose default Stanza needs a download),
timed around the filter calls only. tria runs the `quality_decisions` example (release build, one
thread) over the documents TRIA_REPEAT times; it also runs a second time with its full set (adding
NFC/control clean-up and length limits). The machine is shared, so both sides are timed in CPU seconds
(user + system): datatrove's process CPU time around the filter calls only, tria's whole child process
(startup and JSON parsing included, which favours datatrove), divided by TRIA_REPEAT.

usage: speed.py DOCS.jsonl TRIA_BIN [TRIA_REPEAT]
"""
import json
import resource
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.formatters import PIIFormatter  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import parity  # noqa: E402


def main():
    docs_path, tria_bin = sys.argv[1:3]
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    docs = [json.loads(l) for l in open(docs_path, encoding="utf-8") if l.strip()]
    n_bytes = sum(len(d["text"].encode()) for d in docs)
    pii = PIIFormatter()
    # Warm up: load every language's tokenizer before timing.
    for lang in sorted({d.get("lang") or "en" for d in docs}):
        parity.filters_for(lang)
    spent = 0.0
    for d in docs:
        fs = parity.filters_for(d.get("lang") or "en")
        t0 = time.process_time()
        for f in fs.values():
            f.filter(Document(text=d["text"], id=d["id"]))
        pii.format(d["text"])
        spent += time.process_time() - t0
    print(f"datatrove: {len(docs)} docs, {n_bytes} bytes, {spent:.3f} CPU s in filters, "
          f"{len(docs) / spent:.1f} docs/s, {n_bytes / spent / 1e6:.3f} MB/s")
    results = {}
    for label, kinds in [("same set", "pii,c4,gopher_repetition,gopher_quality,fineweb"),
                         ("full set", "normalize,length,pii,c4,gopher_repetition,gopher_quality,fineweb")]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(docs_path, "rb") as f:
            res = subprocess.run([tria_bin, "--quiet", "--settings", "published", "--filters", kinds,
                                  "--repeat", str(repeat)], stdin=f, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        secs = cpu / repeat
        results[label] = secs
        print(f"tria ({label}): {cpu:.3f} CPU s for {repeat} runs; {res.stderr.decode().strip().splitlines()[-1]}")
        print(f"  -> {secs:.4f} CPU s per run, {n_bytes / secs / 1e6:.2f} MB/s; datatrove / tria = {spent / secs:.1f}x")


if __name__ == "__main__":
    main()
