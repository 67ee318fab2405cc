# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The ``nvib-hf`` command line: train, evaluate, reconstruct, sample, interpolate, push.

Thin over the library: ``nvib_hf.training.run`` trains, ``nvib_hf.training.trainer.evaluate_reconstruction`` evaluates and the
model's own methods encode, sample and interpolate.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from nvib_hf.cli.reproduce import add_reproduce_parser
from nvib_hf.training.run import PRESETS, TrainOptions, resume_checkpoint
from nvib_hf.utils.config_files import CliError, load_config_file

EPILOG = "Run `nvib-hf COMMAND --help` for the options of a command."


# --- helpers -----------------------------------------------------------------------------------------------------
def check_model_path(path: str) -> None:
    """Cheap check, before any loading: a local path must be a model directory (a Hub repo id passes)."""
    local = Path(path)
    if (local.exists() or path.startswith((".", "/"))) and not (local / "config.json").is_file():
        raise CliError(f"{path} is not a model directory (no config.json); train one with `nvib-hf train`.")


def load_model(path: str):
    """Model and tokenizer from a model directory (or a Hub repo id for users who are online)."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    check_model_path(path)
    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as error:
        raise CliError(f"cannot load a model from {path}: {error}") from error
    return model.eval(), tokenizer


def require_at_least(flag: str, value: int | None, minimum: int) -> None:
    """``value`` (None: unset, allowed) must be >= ``minimum``; the error names the flag."""
    if value is not None and value < minimum:
        raise CliError(f"{flag} must be >= {minimum}, got {value}.")


def check_generation_flags(args: argparse.Namespace) -> None:
    require_at_least("--max-new-tokens", args.max_new_tokens, 1)
    require_at_least("--num-beams", args.num_beams, 1)
    if not 0 < args.top_p <= 1:
        raise CliError(f"--top-p must be in (0, 1], got {args.top_p}.")
    if not args.temperature > 0:
        raise CliError(f"--temperature must be > 0, got {args.temperature}.")


def check_sentence(name: str, sentence: str) -> None:
    if not sentence.strip():
        raise CliError(f"{name} is empty or whitespace-only: give a sentence to encode.")


def check_output_dir(options: TrainOptions, args: argparse.Namespace) -> None:
    """Before any data is loaded: never silently replace a trained model, and --resume needs a checkpoint."""
    out = Path(options.output_dir)
    if out.exists() and not out.is_dir():
        raise CliError(f"--output-dir {out} is a file, not a directory.")
    held = [name for name in ("config.json", "model.safetensors") if (out / name).is_file()]
    if held and not (args.resume or args.overwrite):
        raise CliError(
            f"{out} already holds a model ({held[0]}); pass --overwrite to replace it, --resume to continue its "
            "training, or choose another --output-dir."
        )
    resume_checkpoint(str(out / "checkpoints"), args.resume)  # the Trainer's output_dir (training_arguments)


def generation_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {"max_new_tokens": args.max_new_tokens, "num_beams": args.num_beams}
    if args.do_sample:
        kwargs.update(do_sample=True, top_p=args.top_p, temperature=args.temperature)
    return kwargs


def print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def results_table(metrics: dict[str, float], examples: dict[str, Any]) -> str:
    """The small table the main job prints: metrics, reconstructions, prior samples, an interpolation."""
    keys = (
        "bleu",
        "exact_match",
        "reconstruction_loss",
        "token_accuracy",
        "vectors_kept",
        "vectors_kept_proportion",
        "kl_gaussian",
        "kl_dirichlet",
        "latent_gap",
        "sample_distinct_2",
        "sample_repeat_rate",
        "reference_distinct_2",
        "judge_ppl_samples",
        "judge_ppl_references",
        "sample_ppl_ratio",
        "interpolation_change_rate",
        "interpolation_edit_distance",
        "midpoint_repeat_rate",
        "num_samples",
        "train_wall_time_s",
    )
    lines = ["| metric (test split) | value |", "|---|---|"]
    lines += [f"| {key} | {metrics[key]:.4g} |" for key in keys if key in metrics]
    for item in examples.get("reconstructions", []):
        lines.append(f"\nin : {item['input']}\nout: {item['output']}")
    if examples.get("prior_samples"):
        lines.append("\nprior samples:\n" + "\n".join(f"  - {s}" for s in examples["prior_samples"]))
    if examples.get("interpolation"):
        lines.append(
            "\ninterpolation:\n" + "\n".join(f"  {i['tau']:.2f}: {i['output']}" for i in examples["interpolation"])
        )
    return "\n".join(lines)


# --- commands ----------------------------------------------------------------------------------------------------
def command_train(args: argparse.Namespace) -> None:
    from nvib_hf.training.run import run_training

    values: dict[str, Any] = dict(PRESETS[args.preset])
    if args.config:
        values.update(load_config_file(args.config))
    option_names = {f.name for f in fields(TrainOptions)}
    values.update({k: v for k, v in vars(args).items() if k in option_names and v is not None})
    try:
        options = TrainOptions.from_dict(values)
    except (TypeError, ValueError) as error:
        raise CliError(str(error)) from error
    check_output_dir(options, args)
    command = (
        "nvib-hf " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else "nvib-hf train"
    )
    result = run_training(options, resume=args.resume, command=command)
    if not result.finished:
        print(
            f"Stopped at step {result.global_step} of {options.max_steps}; continue with the same command plus --resume."
        )
        return
    print(results_table(result.metrics, result.examples))
    from nvib_hf.reporting.model_card import capability_statement

    print("\n" + capability_statement(result.metrics).replace("**", ""))
    print(f"\nModel directory: {result.output_dir} (wall time {result.wall_time_s / 60:.1f} min)")


def command_evaluate(args: argparse.Namespace) -> None:
    from nvib_hf.data.corpus import load_sentences, tokenize_dataset
    from nvib_hf.evaluation.latent_usage import latent_usage
    from nvib_hf.training.trainer import evaluate_reconstruction

    check_model_path(args.model)
    require_at_least("--batch-size", args.batch_size, 1)
    require_at_least("--max-samples", args.max_samples, 1)
    check_generation_flags(args)
    model, tokenizer = load_model(args.model)
    sentences = load_sentences(args.data, tokenizer=tokenizer if args.data else None)
    data = tokenize_dataset(sentences, tokenizer, max_length=model.config.max_position_embeddings)[args.split]
    metrics = evaluate_reconstruction(
        model,
        data,
        tokenizer,
        batch_size=args.batch_size,
        max_samples=args.max_samples,
        show_progress=True,
        generate_kwargs=generation_kwargs(args),
    )
    metrics.update(latent_usage(model, data, batch_size=args.batch_size, max_samples=args.max_samples or 256))
    if model.config.bottleneck != "none":
        from nvib_hf.evaluation.sample_quality import judged_generation_metrics

        metrics.update(judged_generation_metrics(model, tokenizer, list(sentences[args.split]["text"]), seed=0))
    print_json(metrics)
    if args.output:
        Path(args.output).write_text(json.dumps(metrics, indent=2) + "\n")


def read_sentences(args: argparse.Namespace) -> list[str]:
    sentences = list(args.sentences or [])
    for index, sentence in enumerate(sentences, start=1):
        check_sentence(f"sentence {index}", sentence)
    if args.file:
        file = Path(args.file)
        if not file.is_file():
            raise CliError(f"file {args.file} does not exist.")
        sentences += [line.strip() for line in file.read_text().splitlines() if line.strip()]
    if not sentences:
        raise CliError("no sentences given: pass them as arguments or with --file.")
    return sentences


def command_reconstruct(args: argparse.Namespace) -> None:
    check_model_path(args.model)
    require_at_least("--batch-size", args.batch_size, 1)
    check_generation_flags(args)
    sentences = read_sentences(args)
    model, tokenizer = load_model(args.model)
    outputs = []
    for start in range(0, len(sentences), args.batch_size):
        batch = sentences[start : start + args.batch_size]
        try:
            outputs += model.reconstruct(batch, tokenizer, **generation_kwargs(args))
        except ValueError as error:
            raise CliError(str(error)) from error
    print_json([{"input": s, "output": o} for s, o in zip(sentences, outputs)])


def command_sample(args: argparse.Namespace) -> None:
    import torch

    check_model_path(args.model)
    require_at_least("--num-samples", args.num_samples, 1)
    require_at_least("--num-components", args.num_components, 1)
    check_generation_flags(args)
    model, tokenizer = load_model(args.model)
    generator = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    try:
        samples = model.sample_prior(
            args.num_samples,
            num_components=args.num_components,
            tokenizer=tokenizer,
            generator=generator,
            weights=args.weights,
            **generation_kwargs(args),
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    print_json(samples)


def command_interpolate(args: argparse.Namespace) -> None:
    check_model_path(args.model)
    require_at_least("--steps", args.steps, 2)
    check_sentence("SENTENCE_A", args.sentence_a)
    check_sentence("SENTENCE_B", args.sentence_b)
    check_generation_flags(args)
    model, tokenizer = load_model(args.model)
    latent = model.encode_latent(texts=[args.sentence_a, args.sentence_b], tokenizer=tokenizer)
    taus = [i / (args.steps - 1) for i in range(args.steps)]
    try:
        decoded = model.interpolate(
            latent.select(0), latent.select(1), taus, mode=args.mode, tokenizer=tokenizer, **generation_kwargs(args)
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    print_json([{"tau": round(t, 4), "output": d[0]} for t, d in zip(taus, decoded)])


def command_push(args: argparse.Namespace) -> None:
    from huggingface_hub import HfApi

    folder = Path(args.model)
    if not (folder / "config.json").is_file():
        raise CliError(f"{args.model} is not a model directory (no config.json).")
    api = HfApi(token=args.token)
    api.create_repo(args.repo_id, private=args.private, exist_ok=True)
    info = api.upload_folder(
        repo_id=args.repo_id,
        folder_path=str(folder),
        commit_message=args.message,
        ignore_patterns=["checkpoints/*", "logs/*"],
    )
    print(f"Pushed {folder} to {args.repo_id}: {info.commit_url if hasattr(info, 'commit_url') else info}")


# --- parser ------------------------------------------------------------------------------------------------------
def add_generation_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding")
    group.add_argument("--max-new-tokens", type=int, default=64, help="longest decode in word pieces (default 64)")
    group.add_argument("--num-beams", type=int, default=1, help="beam size; 1 = greedy (default 1)")
    group.add_argument("--do-sample", action="store_true", help="sample instead of greedy/beam search")
    group.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling mass with --do-sample (0.9)")
    group.add_argument("--temperature", type=float, default=1.0, help="sampling temperature with --do-sample (1.0)")


def add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train an NVAE (or a baseline) and write a shareable model directory",
        description="Train on the shipped Wikipedia-leads corpus (or --data), evaluate on its test split, print a "
        "small results table and write config, safetensors weights, tokenizer, modelling code and a filled model "
        "card to --output-dir. Precedence: preset < --config file < flags.",
    )
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="tiny: a 1-2 minute pipeline check (its model does not reconstruct); default: the ~20 minute main job; "
        "paper: the paper's setting",
    )
    train.add_argument(
        "--config",
        help="YAML/JSON file of options (the flag names below, with underscores; "
        "`model:` holds extra NvaeConfig fields such as kappa or alpha_activation)",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in OUTPUT_DIR/checkpoints"
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="train into an OUTPUT_DIR that already holds a model, replacing its files (without this flag or "
        "--resume, such a directory is refused)",
    )
    train.add_argument("--output-dir", help="where the model directory goes (preset default: outputs/nvae-PRESET)")
    train.add_argument(
        "--data",
        help="corpus: a .txt/.txt.gz (one sentence or paragraph per line), .jsonl "
        "({'text': ...} per line), a datasets save_to_disk directory, or a datasets name (online)",
    )
    train.add_argument(
        "--tokenizer",
        help="a shipped tokenizer (wordpiece-8k: 8,000 word pieces trained on the shipped corpus, the default "
        "preset's; bert-base-uncased: 30,522) or a tokenizer directory",
    )
    train.add_argument(
        "--bottleneck",
        choices=["nvib", "none", "vae", "vae_pooled"],
        help="nvib (default) or a paper baseline: none, vae (VT), vae_pooled (VT pooled)",
    )
    for flag, kind, text in (
        ("--max-train-sentences", int, "cap the training split"),
        ("--eval-samples", int, "test sentences in the final evaluation (default 2000)"),
        ("--d-model", int, "model width D (default 128)"),
        ("--encoder-layers", int, "encoder layers"),
        ("--decoder-layers", int, "decoder layers"),
        ("--attention-heads", int, "self-attention heads"),
        ("--ffn-dim", int, "feed-forward width"),
        ("--lambda-gaussian", float, "λ_G, weight of the Gaussian KL (default 0.01)"),
        ("--lambda-dirichlet", float, "λ_D, weight of the Dirichlet KL (default 1)"),
        ("--kl-start-step", int, "KL weights are 0 before this step (default 600)"),
        ("--kl-warmup-steps", int, "steps of KL annealing from 0 to λ"),
        ("--lambda-alignment", float, "λ_A, guided-alignment weight at step 0 (0: off; default preset 1)"),
        ("--alignment-steps", int, "λ_A falls linearly to 0 by this step"),
        ("--max-steps", int, "optimiser steps"),
        ("--batch-size", int, "sentences per step"),
        ("--learning-rate", float, "Adam learning rate"),
        ("--warmup-steps", int, "learning-rate warm-up steps"),
        ("--dropout", float, "dropout"),
        ("--seed", int, "random seed (data order, init, sampling)"),
        ("--logging-steps", int, "log every N steps"),
        ("--save-steps", int, "checkpoint every N steps"),
        ("--eval-steps", int, "validation every N steps (default: none during training)"),
        ("--stop-after-steps", int, "stop after N steps with a checkpoint (continue later with --resume)"),
    ):
        train.add_argument(flag, type=kind, help=text)
    train.add_argument(
        "--kl-schedule",
        choices=["constant", "linear", "cosine", "cyclical"],
        help="KL weight annealing schedule (default linear warm-up)",
    )
    train.add_argument("--bf16", action="store_true", default=None, help="bfloat16 autocast (faster on recent CPUs)")
    train.add_argument("--report-to", nargs="+", help="Trainer reporters, e.g. tensorboard, none (default tensorboard)")
    train.set_defaults(handler=command_train)


def add_model_parsers(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="reconstruction metrics of a model on a corpus split")
    evaluate.add_argument("model", help="model directory (or Hub repo id)")
    evaluate.add_argument("--data", help="corpus (default: the shipped one)")
    evaluate.add_argument("--split", choices=["train", "validation", "test"], default="test")
    evaluate.add_argument("--max-samples", type=int, help="evaluate the first N sentences only")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--output", help="also write the metrics to this JSON file")
    evaluate.set_defaults(handler=command_evaluate)

    reconstruct = commands.add_parser("reconstruct", help="encode sentences and decode them again")
    reconstruct.add_argument("model", help="model directory (or Hub repo id)")
    reconstruct.add_argument("sentences", nargs="*", help="sentences to reconstruct")
    reconstruct.add_argument("--file", help="a text file, one sentence per line")
    reconstruct.add_argument("--batch-size", type=int, default=32)
    reconstruct.set_defaults(handler=command_reconstruct)

    sample = commands.add_parser("sample", help="generate sentences from latents drawn from the prior")
    sample.add_argument("model", help="model directory (or Hub repo id)")
    sample.add_argument("--num-samples", type=int, default=5)
    sample.add_argument(
        "--num-components",
        type=int,
        help="components per latent (default: drawn from the training length distribution stored in the config)",
    )
    sample.add_argument("--weights", choices=["uniform", "dirichlet"], help="mixture weights of prior samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(handler=command_sample)

    interpolate = commands.add_parser("interpolate", help="decode points between the latents of two sentences")
    interpolate.add_argument("model", help="model directory (or Hub repo id)")
    interpolate.add_argument("sentence_a")
    interpolate.add_argument("sentence_b")
    interpolate.add_argument("--steps", type=int, default=11, help="points from A (τ=0) to B (τ=1), default 11")
    interpolate.add_argument("--mode", choices=["mixture", "componentwise"], default="mixture")
    interpolate.set_defaults(handler=command_interpolate)

    for parser in (evaluate, reconstruct, sample, interpolate):
        add_generation_flags(parser)

    push = commands.add_parser("push", help="upload a model directory to the Hugging Face Hub")
    push.add_argument("model", help="model directory")
    push.add_argument("repo_id", help="e.g. your-name/nvae-wiki")
    push.add_argument("--private", action="store_true")
    push.add_argument("--token", help="Hub token (default: HF_TOKEN or the cached login)")
    push.add_argument("--message", default="Upload NVAE model", help="commit message")
    push.set_defaults(handler=command_push)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nvib-hf",
        epilog=EPILOG,
        description="NVIB / NVAE for Hugging Face "
        "Transformers: train, evaluate, reconstruct, sample, interpolate, push.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_train_parser(commands)
    add_model_parsers(commands)
    add_reproduce_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (CliError, FileNotFoundError, ValueError) as error:
        print(f"nvib-hf {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
