# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The ``nvib-hf`` command line: train, evaluate, reconstruct, sample, interpolate, push.

Thin over the library: ``nvib_hf.training.run`` trains, ``nvib_hf.evaluation.reconstruction.evaluate_reconstruction`` evaluates and the
model's own methods encode, sample and interpolate. The flags come from the option dataclasses' field metadata
(``nvib_hf.cli.arguments``) and torch, Transformers and the model are imported only inside the command that runs, so
``nvib-hf --help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from nvib_hf.cli.arguments import (
    DefaultsHelpFormatter,
    add_dataclass_arguments,
    dataclass_values,
    field_default,
    format_default,
)
from nvib_hf.cli.checks import (
    check_generation_flags,
    check_launcher_environment,
    check_model_path,
    check_output_dir,
    check_sentence,
    require_at_least,
)
from nvib_hf.cli.options import (
    EvaluateOptions,
    GenerationOptions,
    InterpolateOptions,
    PushOptions,
    ReconstructOptions,
    SampleOptions,
    TrainCommandOptions,
)
from nvib_hf.cli.printout import results_table
from nvib_hf.cli.reproduce import add_reproduce_parser
from nvib_hf.training.options import PRESETS, TrainOptions
from nvib_hf.utils.config_files import CliError, load_config_file

EPILOG = "Run `nvib-hf COMMAND --help` for the options of a command."


# --- helpers -----------------------------------------------------------------------------------------------------
def load_model(path: str, allow_pickle: bool = False):
    """Model and tokenizer from a model directory (or a Hub repo id for users who are online); safetensors weights
    only unless ``allow_pickle`` (``nvib_hf.utils.checkpoints``: pickle, truncation, shape and config checks)."""
    from transformers import AutoTokenizer

    from nvib_hf.utils.checkpoints import load_pretrained

    check_model_path(path)
    try:
        model = load_pretrained(path, allow_pickle=allow_pickle)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as error:
        raise CliError(f"cannot load a model from {path}: {error}") from error
    return model.eval(), tokenizer


def generation_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {"max_new_tokens": args.max_new_tokens, "num_beams": args.num_beams}
    if args.do_sample:
        kwargs.update(do_sample=True, top_p=args.top_p, temperature=args.temperature)
    return kwargs


def print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


# --- commands ----------------------------------------------------------------------------------------------------
def command_train(args: argparse.Namespace) -> None:
    from nvib_hf.training.run import run_training

    values: dict[str, Any] = dict(PRESETS[args.preset])
    if args.config:
        values.update(load_config_file(args.config))
    values.update(dataclass_values(TrainOptions, args))
    try:
        options = TrainOptions.from_dict(values)
    except (TypeError, ValueError) as error:
        raise CliError(str(error)) from error
    check_launcher_environment()
    check_output_dir(options, args)
    command = (
        "nvib-hf " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else "nvib-hf train"
    )
    from nvib_hf.training.checkpointing import CheckpointSaveError
    from nvib_hf.utils.run_lock import OutputDirLocked, is_main_rank, output_dir_lock

    try:  # the lock before any data is loaded: a second run into the directory stops at once
        with output_dir_lock(options.output_dir, enabled=is_main_rank()):
            result = run_training(options, resume=args.resume, command=command)
    except (OutputDirLocked, CheckpointSaveError) as error:
        raise CliError(str(error)) from error
    if not result.main_process:  # another rank of a distributed run: the main process prints and saves
        return
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
    from nvib_hf.data import load_sentences, tokenize_dataset
    from nvib_hf.evaluation.latent_usage import latent_usage
    from nvib_hf.evaluation.reconstruction import evaluate_reconstruction

    check_model_path(args.model)
    require_at_least("--batch-size", args.batch_size, 1)
    require_at_least("--max-samples", args.max_samples, 1)
    check_generation_flags(args)
    model, tokenizer = load_model(args.model, args.allow_pickle)
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
    model, tokenizer = load_model(args.model, args.allow_pickle)
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
    model, tokenizer = load_model(args.model, args.allow_pickle)
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
    model, tokenizer = load_model(args.model, args.allow_pickle)
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
        ignore_patterns=["checkpoints/*", "logs/*", ".nvib-hf-train.lock"],
    )
    print(f"Pushed {folder} to {args.repo_id}: {info.commit_url if hasattr(info, 'commit_url') else info}")


# --- parser ------------------------------------------------------------------------------------------------------
def train_defaults() -> tuple[dict[str, Any], dict[str, str]]:
    """The defaults ``nvib-hf train`` shows (the default preset's) and, per option, the other presets' values."""
    options = {f.name: f for f in fields(TrainOptions)}
    base = {name: field_default(f) for name, f in options.items()}
    shown = {**base, **PRESETS["default"]}
    others = {preset: {**base, **values} for preset, values in sorted(PRESETS.items()) if preset != "default"}
    notes = {}
    for name, value in shown.items():
        none = options[name].metadata.get("none")
        text = [f"{preset}: {format_default(v[name], none)}" for preset, v in others.items() if v[name] != value]
        if text:
            notes[name] = ", ".join(text)
    return shown, notes


def add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train an NVAE (or a baseline) and write a shareable model directory",
        description="Train on the shipped Wikipedia-leads corpus (or --data), evaluate on its test split, print a "
        "small results table and write config, safetensors weights, tokenizer, modelling code and a filled model "
        "card to --output-dir. Precedence: preset < --config file < flags.",
        formatter_class=DefaultsHelpFormatter,
    )
    add_dataclass_arguments(train, TrainCommandOptions)
    shown, notes = train_defaults()
    group = train.add_argument_group("training options (defaults: the default preset's; other presets' after ';')")
    add_dataclass_arguments(group, TrainOptions, defaults=shown, default_notes=notes, unset_defaults=True)
    train.set_defaults(handler=command_train)


def add_command(commands, name: str, help_text: str, options: type, handler, generation: bool = True):
    """A sub-command whose arguments are the fields of ``options`` (plus the decoding flags)."""
    parser = commands.add_parser(name, help=help_text, description=help_text, formatter_class=DefaultsHelpFormatter)
    add_dataclass_arguments(parser, options)
    if generation:  # the commands that load a model
        parser.add_argument(
            "--allow-pickle",
            action="store_true",
            help="also load pickle weights (pytorch_model.bin, *.pt): unpickling can run code, so only for files you "
            "trust (default: safetensors only)",
        )
        add_dataclass_arguments(parser.add_argument_group("decoding"), GenerationOptions)
    parser.set_defaults(handler=handler)


def add_model_parsers(commands) -> None:
    add_command(
        commands, "evaluate", "reconstruction metrics of a model on a corpus split", EvaluateOptions, command_evaluate
    )
    add_command(
        commands, "reconstruct", "encode sentences and decode them again", ReconstructOptions, command_reconstruct
    )
    add_command(
        commands, "sample", "generate sentences from latents drawn from the prior", SampleOptions, command_sample
    )
    add_command(
        commands,
        "interpolate",
        "decode points between the latents of two sentences",
        InterpolateOptions,
        command_interpolate,
    )
    add_command(
        commands,
        "push",
        "upload a model directory to the Hugging Face Hub",
        PushOptions,
        command_push,
        generation=False,
    )


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
