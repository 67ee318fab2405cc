"""Training throughput of the main job's model: target tokens per second, as ratios against today's reference.

Usage::

    python benchmarks/bench_throughput.py                 # all levers, interleaved, medians of --repeats
    python benchmarks/bench_throughput.py --profile       # also the top operators of the reference and the default

Every case trains the NVAE of the ``default`` preset (forward, backward, clipping, AdamW) on real batches of the
shipped corpus; cases are interleaved (one timed block of ``--steps`` steps per case per repeat) so that machine noise
hits all of them alike. The reference is the default before the throughput work: bert-base-uncased word pieces
(30,522), batch 32, fp32, glibc's own malloc thresholds. Throughput = target tokens (labels ≠ −100) per second of wall
time. The cases whose options keep freed memory (``keep_freed_memory``, ``nvib_hf/utils/allocator.py``) run in one
worker process that sets it at its start, the others in a second worker that leaves glibc as it is; the two take
turns (one waits while the other runs).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch

from nvib_hf.data import load_sentences, load_tokenizer
from nvib_hf.data.collator import NvaeDataCollator
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.training.options import TrainOptions
from nvib_hf.training.precision import attention_kernels, resolve_bf16
from nvib_hf.utils.allocator import keep_freed_memory


@dataclass
class Case:
    name: str
    overrides: dict  # TrainOptions fields over the preset (the reference: TrainOptions' own defaults)
    preset: str | None = "default"
    compile: bool = False
    flash_attention: bool = False  # keep SDPA's flash kernel under bf16 (what training did before the math kernel)

    def options(self) -> TrainOptions:
        """The reference (``preset=None``) is the default before the throughput work: ``TrainOptions()``'s values,
        i.e. bert-base-uncased word pieces, d_model 128, 2+2 post-LN layers, 4 heads, dropout 0.1, batch 32, fp32,
        glibc's own malloc thresholds."""
        if self.preset is None:
            return TrainOptions.from_dict({"keep_freed_memory": False, **self.overrides})
        return TrainOptions.from_preset(self.preset, **self.overrides)

    def kernels(self, bf16: bool) -> contextlib.AbstractContextManager:
        """The SDPA kernels ``NvaeTrainer`` trains with (``attention_kernels``), or the flash kernel."""
        return contextlib.nullcontext() if self.flash_attention else attention_kernels(bf16, "cpu")


def cases() -> list[Case]:
    fp32_glibc = {"bf16": False, "keep_freed_memory": False}
    return [
        Case("reference: bert-base-uncased 30k, batch 32, fp32", {}, preset=None),
        Case("default preset (8k; bf16 auto, with the SDPA math kernel; freed memory kept)", {}),
        Case("default, fp32", {"bf16": False}),
        Case("default, glibc's malloc thresholds", {"keep_freed_memory": False}),
        Case("default, bf16 with SDPA's flash kernel", {}, flash_attention=True),
        Case("default, fp32, glibc's malloc thresholds (the fifth session's default)", fp32_glibc),
        Case("fifth session's default, dropout 0.1", {**fp32_glibc, "dropout": 0.1}),
        Case("default, batch 64", {"batch_size": 64}),
        Case("default, batch 128", {"batch_size": 128}),
        Case("default, torch.compile", {}, compile=True),
    ]


def build(case: Case, texts: list[str]):
    """(model, optimiser, batches, bf16) for one case: the model ``nvib-hf train`` builds from the case's options, on real
    batches of the shipped corpus grouped by length."""
    options = case.options()
    options.model = {**options.model, "max_position_embeddings": 96}
    tokenizer = load_tokenizer(options.tokenizer)
    torch.manual_seed(0)
    model = NvaeForConditionalGeneration(options.model_config(tokenizer, None)).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = tokenizer(texts)["input_ids"]
    ids.sort(key=len)  # group by length, as the trainer does
    collate = NvaeDataCollator(pad_token_id=tokenizer.pad_token_id)
    size = options.batch_size
    chunks = [ids[i : i + size] for i in range(0, len(ids) - size, size)]
    random.Random(0).shuffle(chunks)
    batches = [collate([{"input_ids": x, "labels": x[1:]} for x in chunk]) for chunk in chunks]
    if case.compile:
        model.forward = torch.compile(model.forward, dynamic=True)
    return model, optimiser, batches, resolve_bf16(options.bf16)


def train_step(model, optimiser, batch, bf16: bool, kernels: contextlib.AbstractContextManager) -> int:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), kernels:
        loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimiser.step()
    optimiser.zero_grad(set_to_none=True)
    return int(batch["labels"].ne(-100).sum())


def timed_block(state, case: Case, steps: int) -> tuple[float, float]:
    """(target tokens per second, sentences per second) over ``steps`` steps (the batches cycle)."""
    model, optimiser, batches, cursor, bf16 = state
    tokens, sentences, start = 0, 0, time.perf_counter()
    for _ in range(steps):
        batch = batches[cursor[0] % len(batches)]
        tokens += train_step(model, optimiser, batch, bf16, case.kernels(bf16))
        sentences += batch["input_ids"].shape[0]
        cursor[0] += 1
    elapsed = time.perf_counter() - start
    return tokens / elapsed, sentences / elapsed


def profile(state, case: Case, top: int = 8) -> str:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model, optimiser, batches, _, bf16 = state
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[:3]:
            train_step(model, optimiser, batch, bf16, case.kernels(bf16))
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def worker(connection, chosen: list[Case], sentences: int, keep_freed: bool) -> None:
    """One process per allocator setting, so that glibc's own thresholds stay untouched where a case asks for them:
    builds its cases, then answers ("time", name, steps) and ("profile", name) requests until ("stop",)."""
    if keep_freed:
        keep_freed_memory()
    texts = list(load_sentences(max_sentences=sentences)["train"]["text"])
    by_name = {case.name: case for case in chosen}
    states = {}
    for case in chosen:
        model, optimiser, batches, bf16 = build(case, texts)
        states[case.name] = (model, optimiser, batches, [0], bf16)
        timed_block(states[case.name], case, 2)  # warm-up
    connection.send("ready")
    while (request := connection.recv())[0] != "stop":
        if request[0] == "time":
            connection.send(timed_block(states[request[1]], by_name[request[1]], request[2]))
        else:
            connection.send(profile(states[request[1]], by_name[request[1]]))


def start_workers(chosen: list[Case], sentences: int) -> dict[str, Any]:
    """The connection that serves each case: one worker for glibc's own thresholds, one for kept freed memory."""
    context = multiprocessing.get_context("spawn")
    served: dict[str, Any] = {}
    for keep_freed in (False, True):
        group = [case for case in chosen if case.options().keep_freed_memory == keep_freed]
        if not group:
            continue
        parent, child = context.Pipe()
        context.Process(target=worker, args=(child, group, sentences, keep_freed), daemon=True).start()
        served.update({case.name: parent for case in group})
    for connection in set(served.values()):
        if connection.recv() != "ready":
            raise RuntimeError("a benchmark worker failed to start")
    return served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per case per repeat")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats (medians are reported)")
    parser.add_argument("--sentences", type=int, default=6000, help="training sentences to batch")
    parser.add_argument("--cases", type=int, nargs="*", help="indices of cases() to run (0, the reference, always)")
    parser.add_argument("--profile", action="store_true", help="print the top operators of the first cases")
    parser.add_argument("--profile-cases", type=int, default=2, help="how many of the chosen cases --profile covers")
    args = parser.parse_args()
    all_cases = cases()
    chosen = [all_cases[0]] + [all_cases[i] for i in (args.cases or range(1, len(all_cases))) if i != 0]
    served = start_workers(chosen, args.sentences)
    results: dict[str, list[tuple[float, float]]] = {case.name: [] for case in chosen}
    for _ in range(args.repeats):  # one worker runs at a time: the other waits for its next request
        for case in chosen:
            served[case.name].send(("time", case.name, args.steps))
            results[case.name].append(served[case.name].recv())
    medians = {name: [statistics.median(r[i] for r in runs) for i in (0, 1)] for name, runs in results.items()}
    reference = medians[chosen[0].name]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}; medians of {args.repeats} x {args.steps} steps"
    )
    print("| case | target tokens/s | ratio | sentences/s | ratio |\n|---|---|---|---|---|")
    for case in chosen:
        tokens, sentences = medians[case.name]
        print(
            f"| {case.name} | {tokens:,.0f} | {tokens / reference[0]:.2f}x | {sentences:,.1f} | "
            f"{sentences / reference[1]:.2f}x |"
        )
    if args.profile:
        for case in chosen[: args.profile_cases]:
            served[case.name].send(("profile", case.name))
            print(f"\n## top operators: {case.name}\n{served[case.name].recv()}")
    for connection in set(served.values()):
        connection.send(("stop",))


if __name__ == "__main__":
    main()
