#!/usr/bin/env python3
"""Why tria's word tokens and datatrove's (spaCy) differ, and which difference moves a keep/drop decision.

For each document where the two sides decide differently in `parity.py`'s `spacy` mode, the two token
lists are aligned (difflib on the token sequences) and every differing stretch ("hunk") is given a cause
(`classify`). A cause is *intended* when `PARITY.md` lists it as a deliberate difference of tria's
splitter (or as a spaCy quirk tria does not copy); `parity.py`'s `spacy-intended` mode uses the same
classification to give datatrove spaCy's tokens with only the intended hunks replaced by tria's.

Attribution of a document: datatrove's four filters run on spaCy's tokens with the hunks of one cause
replaced by tria's; a cause *moves* the document when that alone gives tria's keep/drop. The document's
cause is the one that moves it (the one changing the most tokens when several do); when none does alone,
the causes are added in decreasing token change until the decision moves ("A + B"). A document whose
decision differs even with tria's tokens throughout is "filter logic" (see PARITY.md, item 7).

usage: token_causes.py DOCS.jsonl TRIA_EXAMPLES_DIR OUT_DIR [MODE]
  reads OUT_DIR/disagreements-MODE.jsonl (MODE: spacy by default) written by parity.py;
  writes OUT_DIR/causes-MODE.md (tables) and OUT_DIR/causes-MODE.jsonl (each document and its hunks).
  MODE = all: no attribution; counts the token differences of every document by cause (OUT_DIR/causes-all.md).
"""
import collections
import difflib
import json
import os
import re
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

# Cause -> (intended?, short explanation). Intended ones are listed in PARITY.md with their reasons.
CAUSES = {
    "ca_contraction": (True, "Catalan contraction kept whole (`del`, `pels`); spaCy: `d` + `el`"),
    "elision": (True, "elided article/pronoun split (`l'` + `ostal`), only listed prefixes (`rock’n’roll` whole); spaCy's multi-language model (oc) keeps `l'ostal`, its Catalan one splits `rock’ n’ roll`"),
    "hyphen_clitic": (True, "clitic after a hyphen split (`dizê` + `-lo`, `fais` + `-tu`); spaCy keeps or splits the hyphen alone"),
    "ca_apos_enclitic": (True, "Catalan enclitic after an apostrophe (`Descompondre` + `'s`); spaCy: `Descompondre'` + `s`"),
    "hyphen_compound": (True, "hyphenated word kept whole (compounds, Basque case endings `EAJ-k`, ranges `1999-2000`, Russian `-ка`); spaCy eu/en/fr/ru split at the hyphen"),
    "citation": (True, "citation mark split (`word` `[` `1` `]`); spaCy keeps `word[1`"),
    "greek_punct": (True, "spaCy's Greek tokenizer leaves final punctuation on the word (`τώρα;`, `16.`, `99%.`)"),
    "number_period": (True, "a number before a full stop (`2024.` at a sentence end); spaCy de/el keep it as an ordinal"),
    "abbreviation_list": (True, "abbreviations: tria keeps initials and a few titles (`E.T.`, `Sr.`) whole in every language and has no other lists; spaCy keeps those of its per-language exception lists (`s.` for segle, `etc.`), not always the same"),
    "possessive_s": (True, "English possessive `'s` split only in English text; spaCy eu splits it everywhere"),
    "boundary_hyphen": (True, "hyphen at a word's edge (`nabarmenkien-`, `-ra`) is a separate symbol; spaCy eu keeps it on the word"),
    "attached_punct": (True, "punctuation split from a word (`da)[1`, `):`, `\"Big Fish\".Esan`, `Illa—.`, `33,7%`, CJK `，`); spaCy keeps it on the word"),
    "dotted_numeral": (True, "medieval dotted numerals (`.XII.`): the dots are punctuation; spaCy keeps the leading one"),
    "mojibake": (True, "mis-decoded or mistyped characters (`â€`, `Ã£`, U+0092, `¡` for `ñ`, `‘‘`, a backtick)"),
    "basque_quote_ending": (False, "Basque case ending after a closing quote (`\"Saragosse\"rako`)"),
    "abbreviation": (False, "dotted initials and abbreviations (`E.T.`, `D.`)"),
    "number_separator": (False, "numbers joined by `:` or `/` (`2:30`, `12/05/2020`)"),
    "dash_run": (False, "runs of dashes (`--`)"),
    "greek_apostrophe": (True, "Greek elision split like Catalan `l'` (`απ΄` + `το`), aphaeresis and the accent of a capital kept on the word (`'ρθει`, `'Εχω`); spaCy's Greek rules do either only for listed words"),
    "unit": (False, "number and unit (`30m`)"),
    "url_email": (False, "URL or e-mail address"),
    "other": (False, "not classified"),
}

INTENDED = {c for c, (yes, _) in CAUSES.items() if yes}
WORD = re.compile(r"\w", re.UNICODE)
APOS = "'\u2019\u02bc\u00b4\u0384\u1fbd\u0092"
CA_CONTRACTIONS = {"del", "dels", "al", "als", "pel", "pels", "cal", "cals"}
UNITS = {"m", "cm", "mm", "km", "g", "kg", "mg", "l", "ml", "h", "min", "s", "gb", "mb", "kb", "tb", "ha"}


def classify(t, s, lang):
    """The cause of one hunk: `t` tria's tokens, `s` spaCy's, over the same stretch of text."""
    a, b = "".join(t), "".join(s)
    if any("@" in x or "://" in x or x.startswith("www.") for x in t + s):
        return "url_email"
    if re.search("[\u0080-\u009f]|â€|Ã|\\w¡\\w|‘‘|`", a):
        return "mojibake"
    if lang == "ca" and any(x.lower() in CA_CONTRACTIONS and x not in s for x in t):
        return "ca_contraction"
    if re.search(r"\w\[\d", b) and "[" in t:
        return "citation"
    if lang == "el":
        if any(c in a for c in APOS):
            return "greek_apostrophe"
        if any(len(x) > 1 and WORD.search(x) and not WORD.match(x[-1]) for x in s):
            return "greek_punct"
    if lang == "eu" and re.search(r"\w[\"”»']\-?\w", b) and any(x in t for x in ['"', "”", "»", "'"]):
        return "basque_quote_ending"
    if any(re.fullmatch(r"[A-ZÀ-ÞΑ-ΩА-Я]\.", x) or re.fullmatch(r"(?:[^\W\d_]\.){2,}", x) for x in s):
        return "abbreviation"
    if any("." in x and re.fullmatch(r"\.?(?:[IVXLCDM]+\.)*[IVXLCDM]+[a-z]*\.?", x) for x in s) or (lang == "oc" and a.startswith(".") != b.startswith(".")):
        return "dotted_numeral"
    if any(re.fullmatch(r"[^\W\d_]{1,4}\.|[^\W\d_]\.\w+", x) for x in s) and len(t) > len(s) or any(
        re.fullmatch(r"[^\W\d_]{1,4}\.", x) for x in t
    ) and len(s) > len(t):
        return "abbreviation_list"
    if re.search(r"\d[:/]\d", a):
        return "number_separator"
    if any(re.fullmatch(r"\d+\.", x) for x in s):
        return "number_period"
    if any("--" in x for x in t + s) and not any(len(x) > 2 and x[0] == "-" or x[-1] == "-" and WORD.search(x) for x in s):
        return "dash_run"
    if any(re.fullmatch(r"\d+", x) for x in s) and any(x.lower() in UNITS for x in s) and len(s) > len(t):
        return "unit"
    if any(x[0] in "-\u2010" and len(x) > 1 and WORD.search(x) for x in t) and lang in ("pt", "gl", "ca", "fr"):
        return "hyphen_clitic"
    if lang == "ca" and any(x[0] in APOS and len(x) > 1 for x in t + s):
        return "ca_apos_enclitic"
    if re.search(r"\w['’´][sS]$", a) and lang != "en":
        return "possessive_s"
    if any(len(x) > 1 and x[-1] in APOS for x in t) and len(t) > len(s) or any(
        re.search(r"\w['’]\w", x) for x in t
    ) and len(s) > len(t):
        return "elision"
    if any(re.search(r"\w[-\u2010]\w", x) for x in t):
        return "hyphen_compound"
    if any(len(x) > 1 and (x[0] == "-" or x[-1] == "-") and WORD.search(x) for x in s):
        return "boundary_hyphen"
    if any(len(x) > 1 and not WORD.search(x) for x in s) or any(
        WORD.search(x) and re.search(r"[)\]\(\[:;\"”»“«—–―%$€°_/’，：]", x) for x in s
    ):
        return "attached_punct"
    return "other"


def hunks(t, s, lang):
    """Differing stretches of the two token lists, each with its cause."""
    out = []
    sm = difflib.SequenceMatcher(None, t, s, autojunk=False)
    for op, a1, a2, b1, b2 in sm.get_opcodes():
        if op != "equal":
            out.append((a1, a2, b1, b2, classify(t[a1:a2], s[b1:b2], lang)))
    return out


def merge(t, s, hs, take):
    """spaCy's tokens with the hunks whose cause is in `take` replaced by tria's."""
    out, pos = [], 0
    for a1, a2, b1, b2, cause in hs:
        out.extend(s[pos:b1])
        out.extend(t[a1:a2] if cause in take else s[b1:b2])
        pos = b2
    out.extend(s[pos:])
    return out


def tria_tokens(docs_path, examples_dir):
    with open(docs_path, "rb") as f:
        res = subprocess.run([os.path.join(examples_dir, "tokenize"), "--jsonl"], stdin=f, capture_output=True, check=True)
    return {row["id"]: row["tokens"] for row in map(json.loads, res.stdout.decode().splitlines())}


def census(docs, tria, parity, out_dir):
    counts, langs, examples, spacy_tok = collections.Counter(), collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter), {}
    n_tokens = 0
    for i, doc in docs.items():
        lang = doc.get("lang") or "en"
        if lang not in spacy_tok:
            spacy_tok[lang] = parity.tokenizer_for(lang)
        s, t = spacy_tok[lang].word_tokenize(doc["text"]), tria[i]
        n_tokens += len(t)
        for a1, a2, b1, b2, cause in hunks(t, s, lang):
            counts[cause] += 1
            langs[cause][lang] += 1
            examples[cause][(" ".join(t[a1:a2]), " ".join(s[b1:b2]))] += 1
    lines = [f"Token differences over all {len(docs)} documents ({n_tokens} tria tokens), by cause:\n",
             "| cause | intended | hunks | languages | most frequent (tria → spaCy) |", "|---|---|---:|---|---|"]
    for cause, n in counts.most_common():
        (ta, sa), _ = examples[cause].most_common(1)[0]
        ex = f"`{ta[:40]}` → `{sa[:40]}`".replace("|", "\\|")
        top = ", ".join(f"{l} {k}" for l, k in langs[cause].most_common(4))
        lines.append(f"| {cause} | {'yes' if CAUSES[cause][0] else 'no'} | {n} | {top} | {ex} |")
    with open(os.path.join(out_dir, "causes-all.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import parity
    from datatrove.utils.text import split_into_parts

    docs_path, examples_dir, out_dir = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "spacy"
    docs = {d["id"]: d for d in map(json.loads, open(docs_path, encoding="utf-8")) if d}
    tria = tria_tokens(docs_path, examples_dir)
    if mode == "all":
        census(docs, tria, parity, out_dir)
        return
    ids = sorted({json.loads(l)["id"] for l in open(os.path.join(out_dir, f"disagreements-{mode}.jsonl"))}, key=lambda i: int(i.split("-")[-1]) if i.split("-")[-1].isdigit() else 0)
    # tria's own decisions, to know which side each document must move to.
    with open(docs_path, "rb") as f:
        res = subprocess.run(
            [os.path.join(examples_dir, "quality_decisions"), "--settings", "published", "--datatrove-c4", "--filters", ",".join(parity.KINDS)],
            stdin=f, capture_output=True, check=True,
        )
    tria_keep = {}
    for row in map(json.loads, res.stdout.decode().splitlines()):
        tria_keep[row["id"]] = all(row[k] == "keep" for k in parity.KINDS)
    parity.TOKEN_TABLE = {}

    def dt_keep(doc, tokens):
        parity.TOKEN_TABLE[doc["text"]] = tokens
        # datatrove caches the last few splits per (text, mode, tokenizer): the tokens changed.
        split_into_parts.cache_clear()
        return all(v == "keep" for v in parity.datatrove_decisions(doc).values())

    per_doc, by_cause, by_lang_cause, hunk_counts = [], collections.Counter(), collections.Counter(), collections.Counter()
    examples = collections.defaultdict(collections.Counter)
    spacy_tok = {}
    for i in ids:
        doc = docs[i]
        lang = doc.get("lang") or "en"
        if lang not in spacy_tok:
            spacy_tok[lang] = parity.tokenizer_for(lang)
        s = spacy_tok[lang].word_tokenize(doc["text"])
        t = tria[i]
        hs = hunks(t, s, lang)
        if mode == "spacy-intended":
            # Start from the tokens parity.py gave datatrove: the intended differences already removed.
            s = merge(t, s, hs, INTENDED)
            hs = hunks(t, s, lang)
        for a1, a2, b1, b2, cause in hs:
            hunk_counts[cause] += 1
            examples[cause][(" ".join(t[a1:a2]), " ".join(s[b1:b2]))] += 1
        target = tria_keep[i]
        spacy_keep = dt_keep(doc, s)
        if spacy_keep == target:
            cause = "gopher_repetition/c4/fineweb only (document agrees)"
        elif dt_keep(doc, t) != target:
            cause = "filter logic (same tokens, different decision)"
        else:
            delta = collections.Counter()
            for a1, a2, b1, b2, c in hs:
                delta[c] += abs((a2 - a1) - (b2 - b1)) + 1
            movers = [c for c in delta if dt_keep(doc, merge(t, s, hs, {c})) == target]
            if movers:
                cause = max(movers, key=lambda c: (delta[c], c))
            else:
                chosen = []
                for c, _ in delta.most_common():
                    chosen.append(c)
                    if dt_keep(doc, merge(t, s, hs, set(chosen))) == target:
                        break
                cause = " + ".join(chosen)
        by_cause[cause] += 1
        by_lang_cause[(lang, cause)] += 1
        per_doc.append({"id": i, "lang": lang, "tria_keeps": target, "cause": cause,
                        "hunks": [{"tria": t[a1:a2], "spacy": s[b1:b2], "cause": c} for a1, a2, b1, b2, c in hs]})
    lines = [f"Documents where the two sides disagree (mode `{mode}`): {len(ids)}\n",
             "| cause of the decision | intended | documents | languages |", "|---|---|---:|---|"]
    for cause, n in by_cause.most_common():
        langs = ", ".join(f"{l} {k}" for (l, c), k in sorted(by_lang_cause.items(), key=lambda x: -x[1]) if c == cause)
        parts = cause.split(" + ")
        intended = "yes" if all(CAUSES.get(p, (True,))[0] for p in parts) else "no"
        lines.append(f"| {cause} | {intended} | {n} | {langs} |")
    lines += ["", "Token differences in those documents (hunks), by cause:\n", "| cause | intended | hunks | example (tria → spaCy) |", "|---|---|---:|---|"]
    for cause, n in hunk_counts.most_common():
        (ta, sa), _ = examples[cause].most_common(1)[0]
        ex = f"`{ta[:40]}` → `{sa[:40]}`".replace("|", "\\|")
        lines.append(f"| {cause} | {'yes' if CAUSES[cause][0] else 'no'} | {n} | {ex} |")
    with open(os.path.join(out_dir, f"causes-{mode}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, f"causes-{mode}.jsonl"), "w") as f:
        for row in per_doc:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
