"""Encoding throughput of the peers on the same lines: HF tokenizers `encode_batch` and tiktoken
(an `Encoding` built from the same byte-level tokenizer.json, so both apply the same vocabulary).
Prints one JSON object per peer.
"""
import json, os, sys, time

from tokenizers import Tokenizer


def byte_decoder():
    # GPT-2's byte <-> printable character table (the inverse of ByteLevel's mapping).
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    tok_path, repeat, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    files = sys.argv[4:]
    docs = []
    for _ in range(repeat):
        for f in files:
            with open(f, encoding="utf-8") as fh:
                docs.extend(l.rstrip("\n") for l in fh)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    tk = Tokenizer.from_file(tok_path)
    t0 = time.perf_counter()
    ntok = 0
    for i in range(0, len(docs), 4096):
        ntok += sum(len(e.ids) for e in tk.encode_batch(docs[i:i + 4096], add_special_tokens=False))
    s = time.perf_counter() - t0
    print(json.dumps({"peer": "hf_encode_batch", "bytes": nbytes, "tokens": ntok, "s": round(s, 3),
                      "mb_per_s": round(nbytes / s / 1e6, 2)}))
    try:
        import tiktoken
    except ImportError:
        print(json.dumps({"peer": "tiktoken", "skipped": "not installed"}))
        return
    spec = json.load(open(tok_path, encoding="utf-8"))
    dec = byte_decoder()
    ranks = {bytes(dec[c] for c in tokstr): i for tokstr, i in spec["model"]["vocab"].items()
             if tokstr != "<|endoftext|>"}
    pat = spec["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
    enc = tiktoken.Encoding("tria-bench", pat_str=pat, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": spec["model"]["vocab"]["<|endoftext|>"]})
    t0 = time.perf_counter()
    ntok = 0
    for i in range(0, len(docs), 4096):
        ntok += sum(len(x) for x in enc.encode_ordinary_batch(docs[i:i + 4096], num_threads=threads))
    s = time.perf_counter() - t0
    print(json.dumps({"peer": "tiktoken", "bytes": nbytes, "tokens": ntok, "s": round(s, 3),
                      "mb_per_s": round(nbytes / s / 1e6, 2)}))


if __name__ == "__main__":
    main()
