"""Training throughput of the main job's model: target tokens per second, as ratios against today's reference.

Usage::

    python benchmarks/bench_throughput.py                 # all levers, interleaved, medians of --repeats
    python benchmarks/bench_throughput.py --profile       # also the top operators of the reference and the default

Every case trains the NVAE of the ``default`` preset (forward, backward, clipping, AdamW) on real batches of the
shipped corpus; cases are interleaved (one timed block of ``--steps`` steps per case per repeat) so that machine noise
hits all of them alike. The reference is the default before the throughput work: bert-base-uncased word pieces
(30,522), batch 32, fp32. Throughput = target tokens (labels ≠ −100) per second of wall time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass

import torch

from nvib_hf.configuration_nvae import NvaeConfig
from nvib_hf.data import load_default_tokenizer, load_sentences, load_tokenizer
from nvib_hf.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.trainer import NvaeDataCollator
from nvib_hf.training import PRESETS, TrainOptions


@dataclass
class Case:
    name: str
    tokenizer: str  # "bert" or "wordpiece-8k"
    batch_size: int
    bf16: bool = False
    options: dict | None = None  # TrainOptions overrides (model fields under "model")


CASES = [
    Case("reference: bert 30k, batch 32, fp32, post-LN", "bert", 32, options={"normalize_before": False}),
    Case("8k word pieces, batch 32, fp32", "wordpiece-8k", 32),
    Case("8k word pieces, batch 64, fp32", "wordpiece-8k", 64),
    Case("8k word pieces, batch 128, fp32", "wordpiece-8k", 128),
    Case("8k word pieces, batch 64, bf16", "wordpiece-8k", 64, bf16=True),
    Case("8k word pieces, batch 128, bf16", "wordpiece-8k", 128, bf16=True),
    Case("bert 30k, batch 128, bf16", "bert", 128, bf16=True),
]


def build(case: Case, texts: list[str]):
    """(model, optimiser, batches) for one case: the default preset's model with the case's tokenizer."""
    tokenizer = load_default_tokenizer() if case.tokenizer == "bert" else load_tokenizer(case.tokenizer)
    options = TrainOptions.from_dict({**PRESETS["default"]})
    model_fields = {**options.model}
    if case.options and "normalize_before" in case.options:
        model_fields["normalize_before"] = case.options["normalize_before"]
    config = NvaeConfig(
        vocab_size=len(tokenizer),
        d_model=options.d_model,
        encoder_layers=options.encoder_layers,
        decoder_layers=options.decoder_layers,
        encoder_attention_heads=options.attention_heads,
        decoder_attention_heads=options.attention_heads,
        encoder_ffn_dim=options.ffn_dim,
        decoder_ffn_dim=options.ffn_dim,
        pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=tokenizer.cls_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        **{**model_fields, "max_position_embeddings": 96},
    )
    torch.manual_seed(0)
    model = NvaeForConditionalGeneration(config).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = tokenizer(texts)["input_ids"]
    ids.sort(key=len)  # group by length, as the trainer does
    collate = NvaeDataCollator(pad_token_id=tokenizer.pad_token_id)
    chunks = [ids[i : i + case.batch_size] for i in range(0, len(ids) - case.batch_size, case.batch_size)]
    random.Random(0).shuffle(chunks)
    batches = [collate([{"input_ids": x, "labels": x[1:]} for x in chunk]) for chunk in chunks]
    return model, optimiser, batches


def train_step(model, optimiser, batch, bf16: bool) -> int:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimiser.step()
    optimiser.zero_grad(set_to_none=True)
    return int(batch["labels"].ne(-100).sum())


def timed_block(state, case: Case, steps: int) -> float:
    """Target tokens per second over ``steps`` steps (the batches cycle)."""
    model, optimiser, batches, cursor = state
    tokens, start = 0, time.perf_counter()
    for _ in range(steps):
        tokens += train_step(model, optimiser, batches[cursor[0] % len(batches)], case.bf16)
        cursor[0] += 1
    return tokens / (time.perf_counter() - start)


def profile(state, case: Case, top: int = 8) -> str:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model, optimiser, batches, _ = state
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[:3]:
            train_step(model, optimiser, batch, case.bf16)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per case per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (medians are reported)")
    parser.add_argument("--sentences", type=int, default=6000, help="training sentences to batch")
    parser.add_argument("--cases", type=int, nargs="*", help="indices of CASES to run (0, the reference, always)")
    parser.add_argument("--profile", action="store_true", help="print the top operators of the first two cases")
    args = parser.parse_args()
    chosen = [CASES[0]] + [CASES[i] for i in (args.cases or range(1, len(CASES))) if i != 0]
    texts = list(load_sentences(max_sentences=args.sentences)["train"]["text"])
    states = {}
    for case in chosen:
        model, optimiser, batches = build(case, texts)
        states[case.name] = (model, optimiser, batches, [0])
        timed_block(states[case.name], case, 2)  # warm-up
    results: dict[str, list[float]] = {case.name: [] for case in chosen}
    for _ in range(args.repeats):
        for case in chosen:
            results[case.name].append(timed_block(states[case.name], case, args.steps))
    reference = statistics.median(results[chosen[0].name])
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; medians of {args.repeats} x {args.steps} steps"
    )
    print("| case | target tokens/s | ratio vs reference |\n|---|---|---|")
    for case in chosen:
        median = statistics.median(results[case.name])
        print(f"| {case.name} | {median:,.0f} | {median / reference:.2f}x |")
    if args.profile:
        for case in chosen[:2]:
            print(f"\n## top operators: {case.name}\n{profile(states[case.name], case)}")


if __name__ == "__main__":
    main()
