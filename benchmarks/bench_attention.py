"""Speed of denoising attention relative to ordinary scaled dot-product attention, measured in the same run.

    python benchmarks/bench_attention.py [--batch 32] [--queries 32] [--components 30] [--d-model 256] [--heads 1]

Prints, for each form, the median time per call and its ratio to ``torch.nn.functional.scaled_dot_product_attention``
over the same keys/values (this machine is shared and noisy: read the ratios, not the absolute times). Also times a
generation step (one query) with the latent-only terms cached versus recomputed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from nvib_hf import NvaeConfig
from nvib_hf.models.nvae.denoising_attention import DenoisingCrossAttention, pack_mixture


def median_time(fn, repeats: int = 30) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--components", type=int, default=30)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--heads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = NvaeConfig(d_model=args.d_model, cross_attention_heads=args.heads)
    attention = DenoisingCrossAttention(config, layer_idx=0)
    b, t, k, d = args.batch, args.queries, args.components, args.d_model
    y, z = torch.randn(b, t, d), torch.randn(b, k, d)
    variance, pi, mask = torch.rand(b, k, d), torch.softmax(torch.randn(b, k), -1), torch.ones(b, k, dtype=torch.bool)
    head_dim = d // args.heads

    def split(x):
        return x.view(b, x.shape[1], args.heads, head_dim).transpose(1, 2)

    def standard():
        q, key, value = split(attention.q_proj(y)), split(attention.k_proj(z)), split(attention.v_proj(z))
        out = F.scaled_dot_product_attention(q, key, value)
        return attention.out_proj(out.transpose(1, 2).reshape(b, t, d))

    impulses, gaussians = pack_mixture(z, None, pi, mask), pack_mixture(z, variance, pi, mask)
    with torch.no_grad():
        reference = median_time(standard)
        attention.train()
        train_form = median_time(lambda: attention(y, impulses))
        attention.eval()
        eval_form = median_time(lambda: attention(y, gaussians))
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        attention(y[:, :1], gaussians, cache=cache)
        step_cached = median_time(lambda: attention(y[:, :1], gaussians, cache=cache))
        step_fresh = median_time(lambda: attention(y[:, :1], gaussians))
    print(
        f"shape: batch {b}, queries {t}, components {k}, d_model {d}, heads {args.heads}, threads {torch.get_num_threads()}"
    )
    print(f"{'form':<40}{'median ms':>12}{'ratio':>10}")
    for name, seconds, base in (
        ("scaled_dot_product_attention (reference)", reference, reference),
        ("denoising train form (impulses)", train_form, reference),
        ("denoising eval form (Gaussians)", eval_form, reference),
        ("generation step, latent terms recomputed", step_fresh, step_fresh),
        ("generation step, latent terms cached", step_cached, step_fresh),
    ):
        print(f"{name:<40}{seconds * 1e3:>12.3f}{seconds / base:>10.2f}")


if __name__ == "__main__":
    main()
