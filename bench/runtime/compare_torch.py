#!/usr/bin/env python3
"""Check tria-runtime against PyTorch/transformers on the same weights, and time both.

A random Llama is made with transformers (seeded), saved with `save_pretrained` (safetensors, f32
or bf16), and scored on seeded random token documents in lm-eval rolling windows, once by
transformers' `LlamaForCausalLM` in PyTorch (f32 on CPU, full logits then log_softmax, the way
lm-eval does it) and once by `cargo run --release --example eval_tokens`. The script checks that
the per-document NLL sums agree within 1e-4 relative and prints tokens/s of both.

Run through bench/runtime/run.sh, which creates bench/.venv-runtime and installs the peers.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_model(path, args):
    torch.manual_seed(args.seed)
    scaling = None
    if args.rope == "linear":
        scaling = {"rope_type": "linear", "factor": 2.0}
    elif args.rope == "llama3":
        scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": args.context // 2}
    cfg = LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads, max_position_embeddings=args.context,
        rms_norm_eps=1e-5, rope_theta=args.theta, rope_scaling=scaling,
        tie_word_embeddings=args.tied, bos_token_id=1, eos_token_id=2,
    )
    model = LlamaForCausalLM(cfg)
    # The default init (std 0.02) gives near-uniform predictions; wider weights make the
    # comparison sensitive to every part of the network.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.rand_like(p) - 0.1)
            elif "lm_head" in name or ("embed" in name and args.tied):
                p.normal_(0.0, 2.0 / math.sqrt(args.hidden))
            elif "embed" in name:
                p.normal_(0.0, 1.0)
            else:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[1]))
    if args.dtype == "bf16":
        model = model.to(torch.bfloat16)
    model.save_pretrained(path, safe_serialization=True)
    # The reference reads the saved files back (bf16 upcast to f32), as a user of the checkpoint
    # would; casting the in-memory model instead would also round its RoPE frequency buffer.
    return LlamaForCausalLM.from_pretrained(path, dtype=torch.float32).eval()


def make_docs(args):
    g = torch.Generator().manual_seed(args.seed + 1)
    docs = []
    for i in range(args.docs):
        n = int(torch.randint(args.min_len, args.max_len + 1, (1,), generator=g))
        toks = torch.randint(3, args.vocab, (n,), generator=g).tolist()
        docs.append({"tokens": toks, "bytes": 4 * n, "lang": ["ca", "eu", "gl"][i % 3],
                     "shard": f"doc{i}"})
    return docs


def rolling_windows(tokens, bos, context):
    """lm-eval get_rolling_token_windows + make_disjoint_window, written out again:
    (input ids, number of trailing outputs scored, targets)."""
    seq = [bos] + tokens
    out, p = [], 1
    while p < len(seq):
        e = min(p + context, len(seq))
        start = max(0, e - 1 - context)
        out.append((seq[start:e - 1], e - p, seq[p:e]))
        p = e
    return out


@torch.no_grad()
def torch_eval(model, docs, context, batch):
    windows = []
    for i, d in enumerate(docs):
        for inp, n, tgt in rolling_windows(d["tokens"], 1, context):
            windows.append((i, inp, n, tgt))
    per_doc = [0.0] * len(docs)
    tokens = 0
    model(torch.zeros((1, 8), dtype=torch.long))  # warm-up, outside the timing
    t0 = time.perf_counter()
    for b in range(0, len(windows), batch):
        chunk = windows[b:b + batch]
        t = max(len(w[1]) for w in chunk)
        ids = torch.zeros((len(chunk), t), dtype=torch.long)
        for k, (_, inp, _, _) in enumerate(chunk):
            ids[k, :len(inp)] = torch.tensor(inp)
        logits = model(ids).logits.float()
        logp = torch.log_softmax(logits, dim=-1)
        for k, (i, inp, n, tgt) in enumerate(chunk):
            rows = logp[k, len(inp) - n:len(inp)]
            nll = -rows.gather(1, torch.tensor(tgt).unsqueeze(1)).double().sum().item()
            per_doc[i] += nll
            tokens += n
    return per_doc, tokens, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--intermediate", type=int, default=1376)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--theta", type=float, default=10000.0)
    ap.add_argument("--rope", choices=["none", "linear", "llama3"], default="none")
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--docs", type=int, default=12)
    ap.add_argument("--min-len", type=int, default=100)
    ap.add_argument("--max-len", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--profile", default="release", help="cargo profile of eval_tokens")
    args = ap.parse_args()

    threads = os.cpu_count()
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "model")
        model = make_model(model_dir, args)
        docs = make_docs(args)
        docs_path = os.path.join(tmp, "docs.jsonl")
        with open(docs_path, "w") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")

        subprocess.run(["cargo", "build", "--quiet", "--profile", args.profile, "-p",
                        "tria-runtime", "--example", "eval_tokens"], cwd=REPO, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        exe = os.path.join(target, "debug" if args.profile == "dev" else args.profile,
                           "examples", "eval_tokens")
        cmd = [exe, model_dir, docs_path, "--context", str(args.context),
               "--batch", str(args.batch)]
        if os.path.exists("/usr/bin/time"):  # GNU time: peak resident memory in KiB
            cmd = ["/usr/bin/time", "-f", "maxrss_kib=%M"] + cmd
        done = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True)
        rust = json.loads(done.stdout)
        rss = [l for l in done.stderr.splitlines() if l.startswith("maxrss_kib=")]
        peak_mib = int(rss[-1].split("=")[1]) / 1024 if rss else None
        n_params = sum(p.numel() for p in model.parameters())
        ref, tokens, torch_s = torch_eval(model, docs, args.context, args.batch)

    rep = rust["report"]
    worst = 0.0
    for i, want in enumerate(ref):
        got = rep["shards"][f"doc{i}"]["nll_sum"]
        worst = max(worst, abs(got - want) / abs(want))
    assert rep["total"]["tokens"] == tokens, (rep["total"]["tokens"], tokens)
    total_ref = sum(ref)
    result = {
        "model": {k: getattr(args, k) for k in ["vocab", "hidden", "intermediate", "layers",
                                                  "heads", "kv_heads", "rope", "tied", "dtype"]},
        "context": args.context, "batch": args.batch, "tokens": tokens, "threads": threads,
        "profile": args.profile, "torch": torch.__version__, "transformers": transformers.__version__,
        "loss_torch": total_ref / tokens, "loss_tria": rep["total"]["loss"],
        "max_rel_err_per_doc": worst,
        "tria_peak_rss_mib": peak_mib, "f32_weights_mib": n_params * 4 / 2**20,
        "tokens_per_s_tria": rust["tokens_per_second"],
        "tokens_per_s_torch": tokens / torch_s,
        "speed_ratio_tria_over_torch": rust["tokens_per_second"] / (tokens / torch_s),
    }
    print(json.dumps(result, indent=2))
    if worst > args.tol:
        print(f"FAIL: relative error {worst:.3e} > {args.tol:.0e}", file=sys.stderr)
        sys.exit(1)
    print(f"OK: per-document NLL within {worst:.2e} relative of transformers", file=sys.stderr)


if __name__ == "__main__":
    main()
