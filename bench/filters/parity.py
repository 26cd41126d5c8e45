#!/usr/bin/env python3
"""Keep/drop parity of tria's quality filters with datatrove's, at the same thresholds.

For each document of DOCS (JSONL from make_docs.py) and each of Gopher quality, Gopher repetition, C4 and
FineWeb, datatrove's filter (pip `datatrove`, its default word tokenizer for the document's language:
spaCy; Galician's default, Stanza, needs a model download, so Galician uses spaCy's Portuguese
tokenizer) decides on a fresh copy of the document; tria's `quality_decisions` example decides with
`--settings published --datatrove-c4` (the published thresholds, and datatrove's C4 values so both run
the same numbers). Gopher's stop words are tria's built-in list of the document's language on both sides.

With MODE = tria-words, datatrove's filters get tria's word tokens (through a WordTokenizer subclass;
sentences still come from datatrove's default tokenizer), so the comparison is about the filters alone;
with MODE = spacy (default) each side uses its own tokenizer; with MODE = spacy-intended datatrove gets
spaCy's tokens in which only the differences PARITY.md lists as intended (`token_causes.CAUSES`, e.g.
Catalan contractions, Basque case endings after a hyphen, citation marks) are replaced by tria's tokens,
so what remains is what tria does not mean to do differently.

usage: parity.py DOCS.jsonl TRIA_BIN OUT_DIR [spacy|tria-words|spacy-intended]
Writes OUT_DIR/parity-MODE.md (table) and OUT_DIR/disagreements-MODE.jsonl.
"""
import json
import os
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.filters import (  # noqa: E402
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, load_word_tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STOP_DIR = os.path.join(HERE, "..", "..", "filters", "stopwords")
GOPHER_EN = ["the", "be", "to", "of", "and", "that", "have", "with"]
KINDS = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]


def stop_words(lang):
    if lang == "en":
        return GOPHER_EN
    path = os.path.join(STOP_DIR, f"{lang}.txt")
    if not os.path.exists(path):
        return GOPHER_EN
    out = []
    for line in open(path, encoding="utf-8"):
        w = line.split("#")[0].strip()
        if w:
            out.append(w)
    return out


def tokenizer_for(lang):
    if lang == "gl":
        return SpaCyTokenizer("pt")
    try:
        tok = load_word_tokenizer(lang)
        tok.word_tokenize("test")
        return tok
    except Exception:
        return SpaCyTokenizer("xx")


class TriaTokens(WordTokenizer):
    """Words from tria's splitter (precomputed per document text); sentences from datatrove's default."""

    def __init__(self, lang, table):
        super().__init__(lang)
        self.table = table
        self.sentences = tokenizer_for(lang)

    def word_tokenize(self, text):
        return self.table[text]

    def sent_tokenize(self, text):
        return self.sentences.sent_tokenize(text)

    def span_tokenize(self, text):
        return self.sentences.span_tokenize(text)


_filters = {}
TOKEN_TABLE = None


def filters_for(lang):
    if lang not in _filters:
        tok = TriaTokens(lang, TOKEN_TABLE) if TOKEN_TABLE is not None else tokenizer_for(lang)
        _filters[lang] = {
            "gopher_quality": GopherQualityFilter(stop_words=stop_words(lang), language=tok),
            "gopher_repetition": GopherRepetitionFilter(language=tok),
            "c4": C4QualityFilter(language=tok),
            "fineweb": FineWebQualityFilter(language=tok),
        }
    return _filters[lang]


def datatrove_decisions(doc):
    out = {}
    for kind, f in filters_for(doc.get("lang") or "en").items():
        d = Document(text=doc["text"], id=doc["id"])
        try:
            r = f.filter(d)
        except ZeroDivisionError:
            r = (False, "zero_division")
        if r is True or (isinstance(r, tuple) and r[0]):
            out[kind] = "keep"
        else:
            out[kind] = r[1] if isinstance(r, tuple) else "drop"
    return out


def main():
    global TOKEN_TABLE
    docs_path, tria_bin, out_dir = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "spacy"
    os.makedirs(out_dir, exist_ok=True)
    docs = [json.loads(l) for l in open(docs_path, encoding="utf-8") if l.strip()]
    if mode == "tria-words":
        # Same words on both sides: the comparison is then about the filters' logic alone.
        tok_bin = os.path.join(os.path.dirname(tria_bin), "tokenize")
        with open(docs_path, "rb") as f:
            res = subprocess.run([tok_bin, "--jsonl"], stdin=f, capture_output=True, check=True)
        by_id = {}
        for line in res.stdout.decode().splitlines():
            row = json.loads(line)
            by_id[row["id"]] = row["tokens"]
        TOKEN_TABLE = {d["text"]: by_id[d["id"]] for d in docs}
    elif mode == "spacy-intended":
        import token_causes

        tria_tokens = token_causes.tria_tokens(docs_path, os.path.dirname(tria_bin))
        intended = {c for c, (yes, _) in token_causes.CAUSES.items() if yes}
        spacy_tok = {}
        TOKEN_TABLE = {}
        for d in docs:
            lang = d.get("lang") or "en"
            if lang not in spacy_tok:
                spacy_tok[lang] = tokenizer_for(lang)
            s = spacy_tok[lang].word_tokenize(d["text"])
            t = tria_tokens[d["id"]]
            TOKEN_TABLE[d["text"]] = token_causes.merge(t, s, token_causes.hunks(t, s, lang), intended)
    elif mode != "spacy":
        sys.exit(f"unknown mode {mode}")
    with open(docs_path, "rb") as f:
        res = subprocess.run(
            [tria_bin, "--settings", "published", "--datatrove-c4", "--filters", ",".join(KINDS)],
            stdin=f, capture_output=True, check=True,
        )
    tria = {}
    for line in res.stdout.decode().splitlines():
        row = json.loads(line)
        tria[row["id"]] = row
    agree = {k: 0 for k in KINDS}
    drops = {k: [0, 0] for k in KINDS}
    doc_agree = 0
    disagreements = []
    for doc in docs:
        dt = datatrove_decisions(doc)
        tr = tria[doc["id"]]
        all_same = True
        for k in KINDS:
            a, b = dt[k] == "keep", tr[k] == "keep"
            drops[k][0] += not a
            drops[k][1] += not b
            if a == b:
                agree[k] += 1
            else:
                all_same = False
                disagreements.append({"id": doc["id"], "lang": doc.get("lang"), "filter": k, "datatrove": dt[k], "tria": tr[k]})
        # Document level: kept by every filter on both sides, or dropped on both.
        kept_dt = all(dt[k] == "keep" for k in KINDS)
        kept_tr = all(tr[k] == "keep" for k in KINDS)
        doc_agree += kept_dt == kept_tr
    n = len(docs)
    lines = [
        f"Documents: {n} (`bench/filters/make_docs.py ../shared bench/work/docs.jsonl {n}`)\n",
        "| filter | same keep/drop | datatrove drops | tria drops |",
        "|---|---:|---:|---:|",
    ]
    for k in KINDS:
        lines.append(f"| {k} | {100 * agree[k] / n:.2f} % ({agree[k]}/{n}) | {drops[k][0]} | {drops[k][1]} |")
    lines.append(f"| **document (all four)** | **{100 * doc_agree / n:.2f} %** ({doc_agree}/{n}) | | |")
    lines.insert(0, f"Word tokens for datatrove: {mode}\n")
    with open(os.path.join(out_dir, f"parity-{mode}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, f"disagreements-{mode}.jsonl"), "w") as f:
        for d in disagreements:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
