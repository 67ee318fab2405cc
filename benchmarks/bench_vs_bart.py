"""NVAE against transformers' BART of the same size, interleaved in one run: every figure a ratio against BART.

Usage::

    python benchmarks/bench_vs_bart.py                      # d_model 128 and 512, 2 and 6 layers
    python benchmarks/bench_vs_bart.py --sizes 128x2 --repeats 5 --markdown results/bench_vs_bart.md

For each size, a `BartForConditionalGeneration` and an `NvaeForConditionalGeneration` with identical vocabulary,
widths, layers, heads (the NVAE's cross-attention heads = BART's decoder heads) and lengths are timed alternately —
BART, NVAE, BART, NVAE, … — after a warm-up, and the medians over ``--repeats`` are compared. Cases: a training step
in fp32 and in bf16 autocast (forward, backward, AdamW), the evaluation forward, `generate()` greedy / beam 4 /
sampling with cache, peak memory of a training step (the allocator's peak resident set, measured in a subprocess per
model so that one model's peak cannot hide the other's), the NVAE's cached vs uncached greedy speed-up at 64 new
tokens, and the NVAE's `nvib` evaluation form against its `none` baseline (same model, no bottleneck).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import BartConfig, BartForConditionalGeneration

from nvib_hf.models.nvae.configuration_nvae import NvaeConfig
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.training.precision import attention_kernels


@dataclass(frozen=True)
class Size:
    d_model: int
    layers: int
    heads: int = 4
    vocab_size: int = 8000
    batch_size: int = 32
    length: int = 32

    @property
    def name(self) -> str:
        return f"d_model {self.d_model}, {self.layers}+{self.layers} layers"


def shared_fields(size: Size) -> dict:
    """The config fields both models take under the same (BART) names: identical sizes by construction."""
    return dict(
        vocab_size=size.vocab_size,
        d_model=size.d_model,
        encoder_layers=size.layers,
        decoder_layers=size.layers,
        encoder_attention_heads=size.heads,
        decoder_attention_heads=size.heads,
        encoder_ffn_dim=4 * size.d_model,
        decoder_ffn_dim=4 * size.d_model,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )


def bart_config(size: Size) -> BartConfig:
    return BartConfig(**shared_fields(size), forced_eos_token_id=None)


def nvae_config(size: Size, bottleneck: str = "nvib") -> NvaeConfig:
    return NvaeConfig(**shared_fields(size), cross_attention_heads=size.heads, bottleneck=bottleneck)


def build(kind: str, size: Size) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "bart":
        return BartForConditionalGeneration(bart_config(size))
    return NvaeForConditionalGeneration(nvae_config(size, bottleneck="none" if kind == "nvae-none" else "nvib"))


def batch(size: Size, batch_size: int | None = None) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    rows = batch_size or size.batch_size
    input_ids = torch.randint(3, size.vocab_size, (rows, size.length), generator=generator)
    input_ids[:, -1] = 2
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": input_ids.clone()}


def train_step_fn(model: torch.nn.Module, inputs: dict, bf16: bool) -> Callable[[], None]:
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step() -> None:
        # Both models with the kernels NvaeTrainer uses (bf16 on a CPU: SDPA's math kernel, training/precision.py).
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), attention_kernels(bf16, "cpu"):
            loss = model(**inputs).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)

    return step


def eval_forward_fn(model: torch.nn.Module, inputs: dict) -> Callable[[], None]:
    model.eval()

    def forward() -> None:
        with torch.no_grad():
            model(**inputs)

    return forward


def generate_fn(model: torch.nn.Module, inputs: dict, new_tokens: int, **mode) -> Callable[[], None]:
    model.eval()
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=0, eos_token_id=2, **mode)

    def run() -> None:
        with torch.no_grad():
            torch.manual_seed(0)
            model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], **kwargs)

    return run


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(fns: dict[str, Callable[[], None]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each function, timed alternately so that machine noise hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def peak_memory_mib(kind: str, size: Size) -> float:
    """Peak resident memory (MiB) of a fresh process that builds the model and runs three training steps, minus the
    same process's resident memory just before the first step (model and batch built): the training step's own peak."""
    code = (
        "import resource, sys, json; sys.path.insert(0, '.');"
        "from benchmarks.bench_vs_bart import build, batch, train_step_fn, Size, rss_mib;"
        f"size = Size(**{size.__dict__!r}); model = build({kind!r}, size); inputs = batch(size);"
        "step = train_step_fn(model, inputs, False); before = rss_mib(); [step() for _ in range(3)];"
        "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def rss_mib() -> float:
    """Current resident set of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 2**20


TARGETS = {  # issue 13's targets on this CPU, as NVAE / BART ratios (≤) or speed-ups (≥)
    "training step fp32": "≤ 1.05",
    "training step bf16 autocast": "≤ 1.05",
    "generate greedy, 32 new tokens, batch 8": "≤ 1.10",
    "generate beam 4, 32 new tokens, batch 8": "≤ 1.10",
    "peak memory of a training step": "≤ 1.10",
    "NVAE greedy at 64 new tokens: uncached / cached": "≥ 4",
}


def pair_cases(size: Size) -> dict[str, Callable[[torch.nn.Module, dict, dict], Callable[[], None]]]:
    """Case name -> (model, training batch, generation batch) -> the function to time."""
    return {
        "training step fp32": lambda m, b, g: train_step_fn(m, b, bf16=False),
        "training step bf16 autocast": lambda m, b, g: train_step_fn(m, b, bf16=True),
        "evaluation forward": lambda m, b, g: eval_forward_fn(m, b),
        "generate greedy, 32 new tokens, batch 8": lambda m, b, g: generate_fn(m, g, 32),
        "generate beam 4, 32 new tokens, batch 8": lambda m, b, g: generate_fn(m, g, 32, num_beams=4),
        "generate sampling, 32 new tokens, batch 8": lambda m, b, g: generate_fn(m, g, 32, do_sample=True, top_k=50),
    }


def measure_size(size: Size, repeats: int) -> list[dict]:
    """Rows {case, reference, reference_s, nvae_s, ratio} for one size; NVAE / reference ratios."""
    models = {kind: build(kind, size) for kind in ("bart", "nvae", "nvae-none")}
    train_batch, gen_batch = batch(size), batch(size, batch_size=8)
    rows = []
    for case, make in pair_cases(size).items():
        medians = interleaved({k: make(models[k], train_batch, gen_batch) for k in ("bart", "nvae")}, repeats)
        rows.append(row(case, "BART", medians["bart"], medians["nvae"]))
    memory = {kind: peak_memory_mib(kind, size) for kind in ("bart", "nvae")}
    rows.append(row("peak memory of a training step", "BART", memory["bart"], memory["nvae"], unit="MiB"))
    nvae = models["nvae"]
    medians = interleaved(
        {"cached": generate_fn(nvae, gen_batch, 64), "uncached": generate_fn(nvae, gen_batch, 64, use_cache=False)},
        repeats,
    )
    rows.append(
        row("NVAE greedy at 64 new tokens: uncached / cached", "cached", medians["cached"], medians["uncached"])
    )
    for case, make in [("evaluation forward", pair_cases(size)["evaluation forward"])] + [
        ("generate greedy, 32 new tokens, batch 8", pair_cases(size)["generate greedy, 32 new tokens, batch 8"])
    ]:
        medians = interleaved({k: make(models[k], train_batch, gen_batch) for k in ("nvae-none", "nvae")}, repeats)
        rows.append(row(f"nvib eval form vs none: {case}", "none", medians["nvae-none"], medians["nvae"]))
    return rows


def row(case: str, reference: str, reference_value: float, value: float, unit: str = "s") -> dict:
    return {
        "case": case,
        "reference": reference,
        "reference_value": reference_value,
        "value": value,
        "unit": unit,
        "ratio": value / reference_value,
        "target": TARGETS.get(case, ""),
    }


def markdown(results: dict[str, list[dict]]) -> str:
    lines = []
    for size_name, rows in results.items():
        lines += [
            f"#### {size_name}",
            "",
            "| case | reference | reference | NVAE | ratio | target |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            scale, unit = (1000.0, "ms") if r["unit"] == "s" else (1.0, r["unit"])
            lines.append(
                f"| {r['case']} | {r['reference']} | {r['reference_value'] * scale:,.1f} {unit} "
                f"| {r['value'] * scale:,.1f} {unit} | {r['ratio']:.2f}x | {r['target']} |"
            )
        lines.append("")
    return "\n".join(lines)


def profile_generation(size: Size, top: int = 12) -> str:
    """torch.profiler's top operators (self CPU time) of NVAE greedy generation, 32 new tokens, batch 8."""
    from torch.profiler import ProfilerActivity, profile

    run = generate_fn(build("nvae", size), batch(size, batch_size=8), 32)
    run()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def parse_sizes(text: str) -> list[Size]:
    try:
        return [Size(int(d), int(n)) for d, n in (item.split("x") for item in text.split(","))]
    except ValueError:
        raise SystemExit(f"--sizes: expected e.g. 128x2,512x6 (d_model x layers), got {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="128x2,128x6,512x2,512x6", help="d_model x layers, comma-separated")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repetitions per case (medians)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    parser.add_argument("--json", default=None, help="also write the raw rows to this JSON file")
    parser.add_argument("--profile", action="store_true", help="only profile NVAE greedy generation at each size")
    args = parser.parse_args()
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}",
        flush=True,
    )
    if args.profile:
        for size in parse_sizes(args.sizes):
            print(f"#### {size.name}: NVAE greedy generate, top operators\n{profile_generation(size)}")
        return
    results = {}
    for size in parse_sizes(args.sizes):
        results[size.name] = measure_size(size, args.repeats)
        print(markdown({size.name: results[size.name]}), flush=True)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(markdown(results))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
