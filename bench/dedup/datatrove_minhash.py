"""Runs datatrove's MinHash dedup (4 stages) on a folder of JSONL files, one task, one worker.

Usage: datatrove_minhash.py <input_dir> <work_dir> [signatures]
Prints key=value timings: signatures_s, buckets_s, clusters_s, filter_s, total_s.
The word tokenizer is plain whitespace splitting, the same as tria-dedup's default (datatrove's
own "WhitespaceTokenizer" needs spaCy); normalisation, 5-grams, 14 x 8, xxhash 64 are datatrove's
defaults.
"""

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
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.word_tokenizers import WordTokenizer


class SplitTokenizer(WordTokenizer):
    def word_tokenize(self, text):
        return text.split()

    def sent_tokenize(self, text):
        return [text]

    def span_tokenize(self, text):
        return [(0, len(text))]


def main():
    inp, work = sys.argv[1], sys.argv[2]
    only_sigs = len(sys.argv) > 3 and sys.argv[3] == "signatures"
    cfg = MinhashConfig()
    n_files = len([1 for _ in __import__("os").listdir(inp) if _.endswith(".jsonl")])
    t = {}
    c = {}
    t0 = time.perf_counter()
    c0 = time.process_time()
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(inp, glob_pattern="*.jsonl"),
            MinhashDedupSignature(output_folder=f"{work}/signatures", config=cfg, language=SplitTokenizer()),
        ],
        tasks=n_files,
        workers=1,
        logging_dir=f"{work}/logs/sigs",
    ).run()
    t["signatures_s"] = time.perf_counter() - t0
    c1 = time.process_time()
    c["signatures_cpu"] = c1 - c0
    if not only_sigs:
        t1 = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=[
                MinhashDedupBuckets(
                    input_folder=f"{work}/signatures", output_folder=f"{work}/buckets", config=cfg
                )
            ],
            tasks=cfg.num_buckets,
            workers=1,
            logging_dir=f"{work}/logs/buckets",
        ).run()
        t2 = time.perf_counter()
        c2 = time.process_time()
        LocalPipelineExecutor(
            pipeline=[
                MinhashDedupCluster(
                    input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids", config=cfg
                )
            ],
            tasks=1,
            workers=1,
            logging_dir=f"{work}/logs/clusters",
        ).run()
        t3 = time.perf_counter()
        c3 = time.process_time()
        LocalPipelineExecutor(
            pipeline=[
                JsonlReader(inp, glob_pattern="*.jsonl"),
                MinhashDedupFilter(input_folder=f"{work}/remove_ids"),
                JsonlWriter(f"{work}/output", compression=None),
            ],
            tasks=n_files,
            workers=1,
            logging_dir=f"{work}/logs/filter",
        ).run()
        t4 = time.perf_counter()
        c4 = time.process_time()
        t.update(buckets_s=t2 - t1, clusters_s=t3 - t2, filter_s=t4 - t3)
        c.update(buckets_cpu=c2 - c1, clusters_cpu=c3 - c2, filter_cpu=c4 - c3)
    t["total_s"] = time.perf_counter() - t0
    c["total_cpu"] = time.process_time() - c0
    print(" ".join(f"{k}={v:.3f}" for k, v in t.items()))
    print("cpu: " + " ".join(f"{k}={v:.2f}" for k, v in c.items()))


if __name__ == "__main__":
    main()
