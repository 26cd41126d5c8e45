#!/usr/bin/env python3
"""Builds a sample of real-looking web documents (JSONL: id, text, lang, url) for the parity and speed
benchmarks of tria's quality filters.

Body text is real sentences from ../shared/data/lid/<code>.txt; the page around it is generated with
the shapes quality filters exist for: navigation menus and footers (short lines, repeated lines),
bullet lists, cookie / terms / javascript lines, "lorem ipsum", code with curly brackets, ellipsis
lines, hashtags, Wikipedia citation marks, e-mail and IP addresses, very short pages and pages that
repeat a paragraph. The text of the WET records in ../shared/fixtures/cc is added as-is.
Deterministic: random.Random(SEED). The output is not committed (it holds the reference text).

usage: make_docs.py SHARED_DIR OUT.jsonl [N_DOCS]
"""
import gzip
import json
import random
import sys

LANGS = ["ca"] * 5 + ["eu"] * 4 + ["gl"] * 4 + ["es", "en", "fr", "pt", "it", "de", "oc", "ru", "el"]
MENU = {
    "ca": ["Inici", "Qui som", "Notícies", "Contacte", "Agenda", "Serveis", "Avís legal", "Cerca"],
    "eu": ["Hasiera", "Guri buruz", "Albisteak", "Harremanetarako", "Agenda", "Zerbitzuak", "Bilatu"],
    "gl": ["Inicio", "Quen somos", "Novas", "Contacto", "Axenda", "Servizos", "Aviso legal", "Buscar"],
}
BOILER = [
    "This website uses cookies to improve your experience. Read our cookie policy for details.",
    "Aquest lloc web utilitza cookies pròpies i de tercers. Consulteu la privacy policy del lloc.",
    "Please enable JavaScript in your browser to view this page correctly.",
    "Copyright © 2024. Tots els drets reservats.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "function init() { return window.loaded; }",
    "Segueix-nos a les xarxes socials...",
    "#catalunya #cultura #festa #estiu #platja",
    "Llegir més...",
]


def wet_texts(shared):
    out = []
    for name, opener in [("whirlwind.warc.wet.gz", gzip.open), ("ccnet-sample.warc.wet", open)]:
        try:
            raw = opener(f"{shared}/fixtures/cc/{name}", "rb").read().decode("utf-8", "replace")
        except OSError:
            continue
        for rec in raw.split("WARC/1.0")[1:]:
            head, _, body = rec.replace("\r\n", "\n").partition("\n\n")
            if "WARC-Type: conversion" in head:
                out.append(body.strip())
    return out


def main():
    shared, out_path = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    rng = random.Random(20261126)
    lines = {}
    for code in set(LANGS):
        with open(f"{shared}/data/lid/{code}.txt", encoding="utf-8") as f:
            lines[code] = f.read().splitlines()
    docs = []
    for i, t in enumerate(wet_texts(shared)):
        docs.append({"id": f"wet-{i}", "text": t, "lang": "en", "url": f"https://example.org/wet/{i}"})
    while len(docs) < n:
        lang = rng.choice(LANGS)
        src = lines[lang]
        pos = rng.randrange(len(src))

        def sentences(k):
            nonlocal pos
            out = []
            for _ in range(k):
                out.append(src[pos % len(src)])
                pos += 1
            return out

        parts = []
        menu = MENU.get(lang, MENU["ca"])
        if rng.random() < 0.6:
            parts += rng.sample(menu, rng.randint(1, len(menu)))
        n_par = rng.choice([1, 1, 2, 3, 4, 6, 8, 12])
        sep = "\n\n" if rng.random() < 0.3 else "\n"
        body = []
        for _ in range(n_par):
            if rng.random() < 0.15:
                body += ["- " + s for s in sentences(rng.randint(2, 6))]
            elif rng.random() < 0.05:
                body += ["• " + m for m in rng.sample(menu, 3)]
            else:
                para = " ".join(sentences(rng.randint(1, 6)))
                if rng.random() < 0.05:
                    para = para.replace(".", "[1].", 1)
                body.append(para)
        if rng.random() < 0.1 and body:
            body += [rng.choice(body)] * rng.randint(1, 4)
        if rng.random() < 0.08:
            body.append(f"Contacte: info{rng.randint(1, 99)}@example-{lang}.org o al servidor {rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        parts.append(sep.join(body))
        if rng.random() < 0.35:
            parts += rng.sample(BOILER, rng.randint(1, 3))
        if rng.random() < 0.3:
            parts += rng.sample(menu, rng.randint(1, 4))
        if rng.random() < 0.05:
            parts = [p + "..." if rng.random() < 0.6 else p for p in parts]
        docs.append({
            "id": f"doc-{len(docs)}",
            "text": "\n".join(parts),
            "lang": lang,
            "url": f"https://www.site{rng.randint(1, 500)}.{lang}.example/page/{len(docs)}",
        })
    with open(out_path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"{len(docs)} documents, {sum(len(d['text'].encode()) for d in docs)} bytes -> {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
