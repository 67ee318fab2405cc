"""generate() unchanged: every decoding mode, cache on/off, beams, batching, and decoding from latents."""

from __future__ import annotations

import pytest
import torch

from nvib_hf import NvibLatent
from tests.test_modeling_nvae import NvaeModelTester


@pytest.fixture(scope="module", params=["nvib", "vae"])
def trained(request):
    """A tiny model trained for a few steps to copy its inputs, so that decodes are not constant."""
    tester = NvaeModelTester(bottleneck=request.param)
    model = tester.model()
    inputs = tester.inputs()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = model(**inputs).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), inputs


def generate(model, inputs, **kwargs):
    torch.manual_seed(0)
    return model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=8, **kwargs)


MODES = {
    "greedy": dict(do_sample=False),
    "beam": dict(num_beams=3, do_sample=False),
    "beam_return_3": dict(num_beams=4, num_return_sequences=3, do_sample=False),
    "sampling": dict(do_sample=True, top_k=0, temperature=1.5),
    "top_p_return_2": dict(do_sample=True, top_p=0.9, num_return_sequences=2),
    "contrastive_like_beam_sample": dict(num_beams=2, do_sample=True),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_cache_does_not_change_outputs(trained, mode):
    model, inputs = trained
    with_cache = generate(model, inputs, use_cache=True, **MODES[mode])
    without_cache = generate(model, inputs, use_cache=False, **MODES[mode])
    assert torch.equal(with_cache, without_cache)
    expected_rows = 3 * MODES[mode].get("num_return_sequences", 1)
    assert with_cache.shape[0] == expected_rows


def test_greedy_reconstructs_and_is_not_constant(trained):
    model, inputs = trained
    ids = generate(model, inputs)
    assert len({tuple(row.tolist()) for row in ids}) >= 2
    # the copy task has been learnt: the medium sentence comes back whole (the model has seen 40 steps only)
    assert ids[1, 1:5].tolist() == inputs["input_ids"][1, 1:5].tolist()


@pytest.mark.parametrize("mode", ["greedy", "beam"])
def test_batched_equals_one_by_one(trained, mode):
    model, inputs = trained
    batched = generate(model, inputs, **MODES[mode])
    for row in range(3):
        length = int(inputs["attention_mask"][row].sum())
        single = {k: v[row : row + 1, :length] for k, v in inputs.items() if k != "labels"}
        ids = generate(model, single, **MODES[mode])[0]
        width = min(len(ids), batched.shape[1])
        expected = batched[row, :width]
        pad = model.config.pad_token_id
        assert (
            ids[:width].tolist() == expected.tolist() or ids[ids != pad].tolist() == expected[expected != pad].tolist()
        )


def test_generate_from_encoded_latent_equals_generate_from_inputs(trained):
    model, inputs = trained
    latent = model.encode_latent(inputs["input_ids"], inputs["attention_mask"])
    assert isinstance(latent, NvibLatent)
    from_latent = model.generate(latent=latent, max_new_tokens=8, num_beams=2)
    from_inputs = generate(model, inputs, num_beams=2)
    assert torch.equal(from_latent, from_inputs)
    with pytest.raises(ValueError, match="either a latent or inputs"):
        model.generate(inputs["input_ids"], latent=latent)


def test_prior_samples_and_interpolations_decode(trained):
    model, inputs = trained
    gen = torch.Generator().manual_seed(0)
    latent = model.sample_prior(4, num_components=5, generator=gen)
    ids = model.generate(latent=latent, max_new_tokens=6, num_beams=2)
    assert ids.shape[0] == 4
    model.config.prior_num_components_probs = [0.0, 0.0, 0.5, 0.5]
    counts = model.draw_num_components(200, torch.Generator().manual_seed(1))
    assert set(counts.tolist()) == {2, 3}
    latent = model.encode_latent(inputs["input_ids"], inputs["attention_mask"])
    steps = model.interpolate(latent.select(slice(0, 2)), latent.select(slice(1, 3)), [0.0, 0.5, 1.0])
    assert len(steps) == 3
    first = model.generate(latent=steps[0], max_new_tokens=8)
    last = model.generate(latent=steps[-1], max_new_tokens=8)
    assert torch.equal(first, generate(model, {k: v[:2] for k, v in inputs.items()}))
    assert torch.equal(last, generate(model, {k: v[1:] for k, v in inputs.items()}))


def test_text_in_text_out():
    """encode/sample/interpolate return strings in one call when given a tokenizer."""
    from nvib_hf.data import load_default_tokenizer

    tokenizer = load_default_tokenizer()
    model = (
        NvaeModelTester(
            vocab_size=len(tokenizer), pad_token_id=0, bos_token_id=101, eos_token_id=102, decoder_start_token_id=101
        )
        .model()
        .eval()
    )
    texts = model.reconstruct(["a short sentence .", "another one"], tokenizer, max_new_tokens=5)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    samples = model.sample_prior(3, num_components=4, tokenizer=tokenizer, max_new_tokens=5)
    assert len(samples) == 3 and all(isinstance(t, str) for t in samples)
    latent = model.encode_latent(texts=["a b c d", "e f g h"], tokenizer=tokenizer)
    rows = model.interpolate(latent.select(0), latent.select(1), [0.0, 1.0], tokenizer=tokenizer, max_new_tokens=5)
    assert len(rows) == 2 and len(rows[0]) == 1
    with pytest.raises(ValueError, match="longer than max_position_embeddings"):
        model.reconstruct([" ".join(["word"] * 60)], tokenizer, truncate=False)


def test_latent_usage_detects_a_decoder_that_reads_its_latent(trained):
    """The trained copy model depends on its latent: shuffling latents across sentences raises the CE."""
    from datasets import Dataset

    from nvib_hf.evaluation.latent_usage import latent_usage

    model, inputs = trained
    rows = [
        {
            k: v[i][v[i] != -100].tolist() if k == "labels" else v[i][inputs["attention_mask"][i].bool()].tolist()
            for k, v in inputs.items()
        }
        for i in range(3)
    ]
    usage = latent_usage(model, Dataset.from_list(rows), batch_size=3)
    assert usage["latent_gap"] > 0.1 and usage["ce_shuffled_latent"] > usage["ce_own_latent"]


def test_generate_does_not_compute_kl_terms(trained, monkeypatch):
    """Generation reads only the logits: its cached decoding steps skip both KL terms, while a plain forward
    without labels (and without a cache) still returns them."""
    model, inputs = trained
    calls = []
    original = model.bottleneck.kl
    monkeypatch.setattr(model.bottleneck, "kl", lambda latent: calls.append(1) or original(latent))
    expected = generate(model, inputs)
    assert calls == []
    monkeypatch.setattr(model.bottleneck, "kl", original)
    assert torch.equal(generate(model, inputs), expected)
    with torch.no_grad():
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    assert outputs.kl_gaussian is not None and torch.isfinite(outputs.kl_gaussian)


def test_packed_latent_is_packed_once_per_latent_without_gradients(trained):
    """generate() decodes against the same encoder output at every step: the packed latent is built once and reused
    while the latent tensors are the same objects; new tensors (beam expansion) or gradients give a fresh packing."""
    model, inputs = trained
    with torch.no_grad():
        encoded = model.get_encoder()(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        first = encoded.packed_latent()
        assert encoded.packed_latent() is first
        assert torch.equal(first, encoded.latent.packed())
        assert "_packed_memo" not in encoded.keys() and len(encoded.to_tuple()) == len(encoded.keys())
        for name in ("z", "pi", "mask", "variance"):  # as generate() expands for beams (vae: no variances)
            value = getattr(encoded, f"latent_{name}")
            if value is not None:
                setattr(encoded, f"latent_{name}", value.repeat_interleave(2, dim=0))
        expanded = encoded.packed_latent()
        assert expanded is not first and torch.equal(expanded, first.repeat_interleave(2, dim=0))
    with torch.enable_grad():
        assert encoded.packed_latent() is not expanded
