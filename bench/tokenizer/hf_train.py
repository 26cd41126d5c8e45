"""Reference: train the same byte-level BPE with HF tokenizers' Python binding.

Same pre-tokenizer (GPT-4 regex split + ByteLevel without its own regex), byte alphabet, special
token and vocabulary size as `tokbench train --model byte`; same documents (one per line, every
K-th line held out). Prints one JSON object with wall time and peak RSS of this process.
"""
import json, resource, sys, time

from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers, decoders

PAT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def lines(files, repeat, holdout):
    for _ in range(repeat):
        for f in files:
            with open(f, encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if holdout and i % holdout == 0:
                        continue
                    yield line.rstrip("\n")


def main():
    vocab, repeat, holdout, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    files = sys.argv[5:]
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PAT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, min_frequency=0, show_progress=False,
        special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    t0 = time.perf_counter()
    tk.train_from_iterator(lines(files, repeat, holdout), trainer=trainer)
    secs = time.perf_counter() - t0
    tk.save(out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cmd": "hf_train", "total_s": round(secs, 3), "peak_rss_mib": round(rss, 1)}))


if __name__ == "__main__":
    main()
