"""Reliability of the model and CLI input paths: every bad input gives a ValueError naming the problem, every odd but
valid input a correct result — never a NaN or a crash deep in an embedding or in attention.

``CASES`` lists every case name this file tries (the README states their number); ``test_every_case_is_tried``
checks that each name is exercised by exactly one parametrised test below.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from nvib_hf import NvibLatent
from nvib_hf.cli.main import main
from nvib_hf.data import load_default_tokenizer, tokenize_dataset
from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration
from nvib_hf.models.nvae.registry import bottleneck_names
from tests.nvae_testing import tiny_config

MAX_POSITIONS = 40  # tiny_config's max_position_embeddings

# Sentences that must be refused on the text path, with the words the error must contain.
TEXT_ERRORS = {
    "empty_string": ([""], "empty or whitespace-only"),
    "whitespace_only": ([" \t\n "], "empty or whitespace-only"),
    "not_a_string": ([None], "not strings"),
    "no_sentences": ([], "no sentences"),
    "control_characters_only": (["\x00\x01\x7f"], "no word piece"),
    "zero_width_characters_only": (["\u200b\u200d\ufeff"], "no word piece"),
    "combining_marks_only": (["\u0300\u0301"], "no word piece"),
    "lone_surrogate": (["the cat \udcff sat ."], "not valid Unicode"),
    "second_of_three_bad": (["fine .", "\x07", "also fine ."], r"sentences \[1\]"),
}
# Bad tensors for the model's forward, with the words the error must contain.
TENSOR_ERRORS = (
    "all_padding_row",
    "labels_all_ignored",
    "input_ids_longer_than_positions",
    "labels_longer_than_positions",
    "input_id_out_of_vocabulary",
    "negative_input_id",
    "label_out_of_vocabulary",
    "decoder_input_id_out_of_vocabulary",
    "empty_batch",
    "zero_length_sequence",
    "attention_mask_shape_mismatch",
    "attention_mask_not_binary",
    "generate_beyond_positions",
)
CLI_CASES = ("cli_control_characters_only", "cli_lone_surrogate", "cli_too_long_truncated", "cli_unknown_characters")
CORRECT_RESULTS = (
    "control_characters_inside_are_dropped",
    "unknown_characters_become_unk",
    "too_long_truncated_with_warning",
    "too_long_raises_when_configured",
    "data_path_too_long_truncated_with_warning",
    "data_path_empty_sentence_is_cls_sep",
    "some_label_rows_all_ignored",
    "generate_up_to_max_positions",
    "generate_with_every_token_pruned_decodes_from_the_prior",
)
MIXED_LENGTHS = tuple(f"length_1_and_max_{name}_{mode}" for name in bottleneck_names() for mode in ("train", "eval"))
CASES = (*TEXT_ERRORS, *TENSOR_ERRORS, *CLI_CASES, *CORRECT_RESULTS, *MIXED_LENGTHS)
TRIED: list[str] = []  # filled by the tests; checked last


@pytest.fixture(scope="module")
def tokenizer():
    return load_default_tokenizer()


def text_model(tokenizer, **overrides) -> NvaeForConditionalGeneration:
    torch.manual_seed(0)
    config = tiny_config(
        vocab_size=len(tokenizer), bos_token_id=101, eos_token_id=102, decoder_start_token_id=101, **overrides
    )
    return NvaeForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def model(tokenizer):
    return text_model(tokenizer)


def token_batch(lengths, vocab=99, seed=0):
    """Right-padded ``[CLS] w.. [SEP]`` rows of the given lengths (length 1: ``[CLS]`` alone) and their labels."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.randint(3, vocab, (len(lengths), width), generator=gen)
    mask = (torch.arange(width)[None] < torch.tensor(lengths)[:, None]).long()
    ids[:, 0] = 1
    for row, length in enumerate(lengths):
        if length > 1:
            ids[row, length - 1] = 2
    ids = ids * mask
    labels = torch.where(mask.bool(), ids, torch.full_like(ids, -100))
    return ids, mask, labels


@pytest.mark.parametrize("case", list(TEXT_ERRORS))
def test_bad_sentences_raise_a_named_error(case, model, tokenizer):
    texts, message = TEXT_ERRORS[case]
    with pytest.raises(ValueError, match=message):
        model.encode_latent(texts=texts, tokenizer=tokenizer)
    with pytest.raises(ValueError, match=message):
        model.reconstruct(texts, tokenizer, max_new_tokens=3)
    TRIED.append(case)


def tensor_error(case: str, tiny: NvaeForConditionalGeneration):
    """(callable, message) for a TENSOR_ERRORS case on the tiny model (vocabulary 99, 40 positions)."""
    ids, mask, labels = token_batch([5, 3])
    long_ids = token_batch([MAX_POSITIONS + 1])[0]
    oov, negative, mask_float = ids.clone(), ids.clone(), mask.float()
    oov[0, 2], negative[1, 1], mask_float[0, 1] = 99, -1, 0.5
    calls = {
        "all_padding_row": (lambda: tiny(input_ids=ids, attention_mask=mask * torch.tensor([[1], [0]])), r"rows \[1\]"),
        "labels_all_ignored": (lambda: tiny(ids, mask, labels=torch.full_like(labels, -100)), "all -100"),
        "input_ids_longer_than_positions": (lambda: tiny(input_ids=long_ids), "longer than max_position_embeddings"),
        "labels_longer_than_positions": (lambda: tiny(ids, mask, labels=long_ids), "labels has length 41"),
        "input_id_out_of_vocabulary": (lambda: tiny(input_ids=oov, attention_mask=mask), "id 99, outside"),
        "negative_input_id": (lambda: tiny(input_ids=negative, attention_mask=mask), "id -1, outside"),
        "label_out_of_vocabulary": (lambda: tiny(ids, mask, labels=oov), "labels hold id 99"),
        "decoder_input_id_out_of_vocabulary": (lambda: tiny(ids, mask, decoder_input_ids=oov), "decoder_input_ids"),
        "empty_batch": (lambda: tiny(input_ids=ids[:0]), "is empty"),
        "zero_length_sequence": (lambda: tiny(input_ids=ids[:, :0]), "is empty"),
        "attention_mask_shape_mismatch": (lambda: tiny(input_ids=ids, attention_mask=mask[:, :4]), "must match"),
        "attention_mask_not_binary": (lambda: tiny(input_ids=ids, attention_mask=mask_float), "only 0"),
        "generate_beyond_positions": (
            lambda: tiny.generate(ids, attention_mask=mask, max_new_tokens=60, min_new_tokens=60),
            "max_new_tokens",
        ),
    }
    return calls[case]


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("case", TENSOR_ERRORS)
def test_bad_tensors_raise_a_named_error(case, training):
    torch.manual_seed(0)
    tiny = NvaeForConditionalGeneration(tiny_config()).train(training)
    call, message = tensor_error(case, tiny)
    with pytest.raises(ValueError, match=message):
        call()
    if training:
        TRIED.append(case)


def test_control_characters_inside_a_sentence_are_dropped(model, tokenizer):
    clean = model.encode_latent(texts=["the cat sat ."], tokenizer=tokenizer)
    noisy = model.encode_latent(texts=["the\x00 cat\x07 sat\x7f ."], tokenizer=tokenizer)
    torch.testing.assert_close(noisy.z, clean.z)
    torch.testing.assert_close(noisy.pi, clean.pi)
    TRIED.append("control_characters_inside_are_dropped")


def test_unknown_characters_become_unk_and_encode(model, tokenizer):
    text = "😀 ☃ 𝔘 ."
    ids = model._tokenize([text], tokenizer)["input_ids"]
    assert (ids == tokenizer.unk_token_id).sum() == 3
    latent = model.encode_latent(texts=[text], tokenizer=tokenizer)
    assert torch.isfinite(latent.z).all() and latent.z.shape[1] == ids.shape[1] + 1  # tokens + prior
    outputs = model.reconstruct([text], tokenizer, max_new_tokens=4)
    assert len(outputs) == 1 and isinstance(outputs[0], str)
    TRIED.append("unknown_characters_become_unk")


def long_sentence(words: int = 60) -> str:
    return " ".join(["word"] * words)


def test_too_long_sentences_are_truncated_with_a_warning(model, tokenizer):
    """The latent of a too-long sentence is the latent of its first 39 word pieces + [SEP] (nothing silently lost)."""
    with pytest.warns(UserWarning, match=r"sentences \[1\] have \[62\] tokens.*truncated to 40"):
        latent = model.encode_latent(texts=["short .", long_sentence()], tokenizer=tokenizer)
    ids = tokenizer([long_sentence()])["input_ids"][0]
    cut = torch.tensor([ids[: MAX_POSITIONS - 1] + [ids[-1]]])
    expected = model.encode_latent(cut, torch.ones_like(cut))
    assert latent.z.shape[1] == MAX_POSITIONS + 1
    torch.testing.assert_close(latent.z[1:], expected.z)
    with pytest.warns(UserWarning, match="truncated"):
        assert len(model.reconstruct([long_sentence()], tokenizer, max_new_tokens=3)) == 1
    TRIED.append("too_long_truncated_with_warning")


def test_too_long_sentences_raise_when_configured(model, tokenizer):
    with pytest.raises(ValueError, match=r"sentences \[0\] are longer than max_position_embeddings=40.*\[62\]"):
        model.encode_latent(texts=[long_sentence()], tokenizer=tokenizer, truncate=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sentence that fits gives no warning
        model.encode_latent(texts=[long_sentence(38)], tokenizer=tokenizer, truncate=False)
    TRIED.append("too_long_raises_when_configured")


def test_data_path_truncation_warns_and_an_empty_sentence_is_cls_sep(tokenizer):
    from datasets import Dataset, DatasetDict

    data = DatasetDict({"test": Dataset.from_dict({"text": ["", "a b .", long_sentence()]})})
    with pytest.warns(UserWarning, match=r"1 sentences of split 'test' \(first: \[2\]\).*truncated"):
        rows = tokenize_dataset(data, tokenizer, max_length=16, truncate=True)["test"]
    assert len(rows[2]["input_ids"]) == 16 and rows[2]["input_ids"][-1] == tokenizer.sep_token_id
    TRIED.append("data_path_too_long_truncated_with_warning")
    # "" is a valid auto-encoding example: [CLS] [SEP] in, [SEP] out; the model's loss on it is finite.
    assert rows[0]["input_ids"] == [101, 102] and rows[0]["labels"] == [102]
    tiny = text_model(tokenizer).train()
    ids = torch.tensor([rows[0]["input_ids"]])
    loss = tiny(input_ids=ids, labels=torch.tensor([rows[0]["labels"]])).loss
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in tiny.parameters() if p.grad is not None)
    TRIED.append("data_path_empty_sentence_is_cls_sep")


def test_a_row_of_ignored_labels_does_not_change_the_reconstruction_loss():
    """CE is a mean over target tokens: a row whose labels are all −100 adds nothing (and no NaN)."""
    torch.manual_seed(0)
    tiny = NvaeForConditionalGeneration(tiny_config()).eval()
    ids, mask, labels = token_batch([6, 4])
    ignored = labels.clone()
    ignored[1] = -100
    both = tiny(ids, mask, labels=ignored)
    alone = tiny(ids[:1], mask[:1], labels=labels[:1])
    torch.testing.assert_close(both.reconstruction_loss, alone.reconstruction_loss)
    assert torch.isfinite(both.loss)
    TRIED.append("some_label_rows_all_ignored")


def test_generation_up_to_the_last_position_works():
    """max_new_tokens = max_position_embeddings fills the position table exactly: the last forward pass reads the
    start token and max − 1 new ones; the last new token is never fed back."""
    torch.manual_seed(0)
    tiny = NvaeForConditionalGeneration(tiny_config()).eval()
    ids, mask, _ = token_batch([5, 3])
    out = tiny.generate(ids, attention_mask=mask, max_new_tokens=MAX_POSITIONS, min_new_tokens=MAX_POSITIONS)
    assert out.shape == (2, MAX_POSITIONS + 1)
    TRIED.append("generate_up_to_max_positions")


def test_generate_with_every_token_pruned_decodes_from_the_prior_component():
    """τ_prune above every α: each latent keeps only the prior component, so every sentence decodes as the latent
    made of the prior component alone, the cross-attention puts all its weight on it, and the KL stays finite."""
    torch.manual_seed(0)
    tiny = NvaeForConditionalGeneration(tiny_config(alpha_prune_threshold=1e6)).eval()
    ids, mask, labels = token_batch([7, 4, 2])
    latent = tiny.encode_latent(ids, mask)
    assert not latent.mask[:, 1:].any() and latent.vectors_kept.eq(0).all()
    prior_only = NvibLatent(
        z=latent.z[:, :1], pi=latent.pi[:, :1], mask=latent.mask[:, :1], variance=latent.variance[:, :1]
    )
    from_inputs = tiny.generate(ids, attention_mask=mask, max_new_tokens=6, min_new_tokens=6)
    from_prior = tiny.generate(latent=prior_only, max_new_tokens=6, min_new_tokens=6)
    assert torch.equal(from_inputs, from_prior)
    assert (from_inputs == from_inputs[:1]).all()  # the input cannot matter any more
    out = tiny(ids, mask, labels=labels, output_attentions=True)
    for weights in out.cross_attentions:  # [B, H, T, K]
        torch.testing.assert_close(weights[..., 0], torch.ones_like(weights[..., 0]))
        assert (weights[..., 1:] == 0).all()
    assert torch.isfinite(out.loss)
    TRIED.append("generate_with_every_token_pruned_decodes_from_the_prior")


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", bottleneck_names())
def test_a_batch_mixing_length_1_and_the_maximum_length(name, mode):
    """Rows of 1 and of max_position_embeddings tokens together: finite loss and gradients (train), and each row's
    logits equal to those of the row alone (eval; padding changes nothing)."""
    torch.manual_seed(0)
    tiny = NvaeForConditionalGeneration(tiny_config(bottleneck=name)).train(mode == "train")
    ids, mask, labels = token_batch([1, MAX_POSITIONS])
    out = tiny(ids, mask, labels=labels)
    assert torch.isfinite(out.loss) and torch.isfinite(out.logits).all()
    if mode == "train":
        out.loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in tiny.parameters() if p.grad is not None)
    else:
        for row, length in enumerate([1, MAX_POSITIONS]):
            alone = tiny(
                ids[row : row + 1, :length], mask[row : row + 1, :length], labels=labels[row : row + 1, :length]
            )
            torch.testing.assert_close(out.logits[row, :length], alone.logits[0], atol=1e-5, rtol=1e-5)
    TRIED.append(f"length_1_and_max_{name}_{mode}")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, model, tokenizer):
    path = tmp_path_factory.mktemp("reliability") / "nvae"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_cli_refuses_control_characters_and_lone_surrogates(saved_model, capsys):
    assert main(["reconstruct", saved_model, "\x00\x01"]) == 2
    assert "no word piece" in capsys.readouterr().err
    TRIED.append("cli_control_characters_only")
    assert main(["interpolate", saved_model, "a cat .", "b \udcff ."]) == 2
    assert "not valid Unicode" in capsys.readouterr().err
    TRIED.append("cli_lone_surrogate")


def test_cli_truncates_long_sentences_and_encodes_unknown_characters(saved_model, capsys):
    with pytest.warns(UserWarning, match="truncated"):
        assert main(["reconstruct", saved_model, long_sentence(), "--max-new-tokens", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["input"] == long_sentence()
    TRIED.append("cli_too_long_truncated")
    assert main(["reconstruct", saved_model, "😀 ☃ .", "--max-new-tokens", "3"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    TRIED.append("cli_unknown_characters")


def test_every_case_is_tried():
    """Runs last in this file: every name in CASES was exercised (when the whole file ran), none twice."""
    if len(TRIED) < len(CASES):
        pytest.skip("only part of the file ran")
    assert sorted(TRIED) == sorted(CASES)


def test_readme_states_the_number_of_input_cases():
    """The README's count of input cases is this file's."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*Input: (\d+) input cases\*\*", readme)
    assert stated is not None and int(stated.group(1)) == len(CASES)
