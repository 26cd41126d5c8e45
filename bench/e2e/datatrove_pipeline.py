"""datatrove's equivalent of tria's ca/eu/gl pipeline, one task and one worker per step.

Usage: datatrove_pipeline.py INPUT_DIR WORK_DIR LID_MODEL TOKENIZER_JSON STOPWORDS_DIR

WarcReader (the WET files) -> LanguageFilter (lid.176 given as a local file; ca, eu, gl)
-> GopherRepetitionFilter -> GopherQualityFilter -> FineWebQualityFilter, each with the document's
language's word tokenizer and stop words (tria's lists, filters/stopwords/<lang>.txt)
-> JsonlWriter per language -> MinHash dedup per language (signatures, buckets, clusters, filter;
datatrove's defaults: 5-grams, 14 buckets x 8 hashes) -> DocumentTokenizer per language.
Prints one JSON line of wall and CPU seconds per step and documents kept.

Word tokenizers: datatrove assigns spaCy to Catalan and Basque and Stanza to Galician; Stanza needs a
model download, so Galician uses spaCy's Portuguese rules (cheaper than Stanza, so this favours
datatrove).
"""

import json
import os
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import (
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.tokens import DocumentTokenizer
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.lid import FT176LID
from datatrove.utils.word_tokenizers import SpaCyTokenizer

LANGS = ["ca", "eu", "gl"]
SPACY = {"ca": "ca", "eu": "eu", "gl": "pt"}


class LocalFT176(FT176LID):
    """lid.176 read from a local file instead of downloaded."""

    path = None

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(self.path)
        return self._model


class PerLanguage(BaseFilter):
    """Applies the filter built for the document's language (datatrove's filters take one)."""

    name = "per-language"

    def __init__(self, make):
        super().__init__()
        self.filters = {lang: make(lang) for lang in LANGS}
        self.name = "per-language " + type(self.filters[LANGS[0]]).__name__

    def filter(self, doc):
        return self.filters[doc.metadata["language"]].filter(doc)


def stop_words(d, lang):
    with open(os.path.join(d, f"{lang}.txt"), encoding="utf-8") as f:
        return [w.split()[0] for w in f if w.strip() and not w.startswith("#")]


def run(name, pipeline, logs, times):
    t0, c0 = time.perf_counter(), time.process_time()
    LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=f"{logs}/{name}").run()
    times.setdefault(name, [0.0, 0.0])
    times[name][0] += time.perf_counter() - t0
    times[name][1] += time.process_time() - c0


def main():
    inp, work, lid, tok, stops = sys.argv[1:6]
    LocalFT176.path = os.path.abspath(lid)
    times = {}
    logs = f"{work}/logs"
    lf = LanguageFilter(languages=LANGS)
    lf.model = LocalFT176(LANGS)
    tokenizers = {lang: SpaCyTokenizer(SPACY[lang]) for lang in LANGS}
    run(
        "filter",
        [
            WarcReader(inp, glob_pattern="*.warc.wet.gz"),
            lf,
            PerLanguage(lambda lang: GopherRepetitionFilter(language=tokenizers[lang])),
            PerLanguage(
                lambda lang: GopherQualityFilter(language=tokenizers[lang], stop_words=stop_words(stops, lang))
            ),
            PerLanguage(lambda lang: FineWebQualityFilter(language=tokenizers[lang])),
            JsonlWriter(f"{work}/filter", output_filename="${language}/${rank}.jsonl.gz"),
        ],
        logs,
        times,
    )
    cfg = MinhashConfig()
    for lang in LANGS:
        src = f"{work}/filter/{lang}"
        if not os.path.isdir(src):
            continue
        mh = f"{work}/minhash/{lang}"
        run(
            "dedup-signatures",
            [JsonlReader(src), MinhashDedupSignature(f"{mh}/sigs", config=cfg, language=tokenizers[lang])],
            f"{logs}/{lang}",
            times,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(f"{mh}/sigs", f"{mh}/buckets", config=cfg)],
            tasks=cfg.num_buckets,
            workers=1,
            logging_dir=f"{logs}/{lang}/dedup-buckets",
        ).run()
        times.setdefault("dedup-buckets", [0.0, 0.0])
        times["dedup-buckets"][0] += time.perf_counter() - t0
        times["dedup-buckets"][1] += time.process_time() - c0
        run("dedup-clusters", [MinhashDedupCluster(f"{mh}/buckets", f"{mh}/remove", config=cfg)], f"{logs}/{lang}", times)
        run(
            "dedup-filter",
            [
                JsonlReader(src),
                MinhashDedupFilter(f"{mh}/remove"),
                JsonlWriter(f"{work}/dedup/{lang}"),
            ],
            f"{logs}/{lang}",
            times,
        )
        run(
            "tokenize",
            [
                JsonlReader(f"{work}/dedup/{lang}"),
                DocumentTokenizer(
                    f"{work}/tokens/{lang}",
                    tokenizer_name_or_path=tok,
                    save_filename=lang,
                    eos_token="</s>",
                    shuffle_documents=False,
                ),
            ],
            f"{logs}/{lang}",
            times,
        )
    out = {k: {"wall_s": round(v[0], 2), "cpu_s": round(v[1], 2)} for k, v in times.items()}
    out["total_wall_s"] = round(sum(v[0] for v in times.values()), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
