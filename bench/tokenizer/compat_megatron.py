"""megatron-core's IndexedDataset reads tria's shards and returns the tokens that Python
`tokenizers` gives for the same documents (plus EOD), for a uint16 and an int32 shard.

usage: compat_megatron.py TOKENIZER.json PREFIX DOCS.txt [TOKENIZER.json PREFIX DOCS.txt ...]
Each PREFIX was written by `tokbench encode --tokenizer TOKENIZER.json --out PREFIX DOCS.txt`.
"""
import json, sys

import numpy as np
from megatron.core.datasets.indexed_dataset import IndexedDataset
from tokenizers import Tokenizer

EOD_CANDIDATES = ["</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "<|eot_id|>", "[SEP]"]


def check(tok_path, prefix, docs_path):
    tk = Tokenizer.from_file(tok_path)
    eod = next(tk.token_to_id(t) for t in EOD_CANDIDATES if tk.token_to_id(t) is not None)
    with open(docs_path, encoding="utf-8") as fh:
        docs = [l.rstrip("\n") for l in fh]
    ds = IndexedDataset(prefix)
    assert len(ds) == len(docs), (len(ds), len(docs))
    assert list(ds.document_indices) == list(range(len(docs) + 1))
    tokens = 0
    for i in range(0, len(docs), 2048):
        batch = tk.encode_batch(docs[i:i + 2048], add_special_tokens=False)
        for j, e in enumerate(batch):
            want = np.array(e.ids + [eod])
            got = ds[i + j]
            if not np.array_equal(got.astype(np.int64), want):
                raise SystemExit(f"{prefix}: document {i + j} differs: {got[:10]} vs {want[:10]}")
            tokens += len(want)
    side = json.load(open(prefix + ".json"))
    assert side["tokens"] == tokens and side["documents"] == len(docs)
    print(json.dumps({"prefix": prefix, "dtype": getattr(ds.index.dtype, "__name__", str(ds.index.dtype)), "documents": len(ds),
                      "tokens": tokens, "identical": True}))


if __name__ == "__main__":
    a = sys.argv[1:]
    for k in range(0, len(a), 3):
        check(a[k], a[k + 1], a[k + 2])
