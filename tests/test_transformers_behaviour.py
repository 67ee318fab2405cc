"""Behaviours that transformers' common model tests check: tuple outputs, inputs_embeds, meta-device init and
``device_map`` loading, and the text-to-text pipeline task (removed in Transformers 5)."""

from __future__ import annotations

import pytest
import torch
import transformers
from transformers.utils import ModelOutput

from nvib_hf.models.nvae.modeling_nvae import NvaeForConditionalGeneration, NvaeModel, NvaePreTrainedModel
from tests.nvae_testing import tiny_config, tiny_text_config


def batch(seed: int = 0) -> dict[str, torch.Tensor]:
    """Two padded rows of token ids (3..98, so no special tokens inside) with their mask."""
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, 99, (2, 7), generator=gen)
    input_ids[1, 5:] = 0  # padding
    return {"input_ids": input_ids, "attention_mask": input_ids.ne(0).long()}


def assert_same_values(first, second) -> None:
    """Equal nested values: tensors exactly, tuples element by element, anything else by type."""
    if isinstance(first, torch.Tensor):
        assert isinstance(second, torch.Tensor)
        torch.testing.assert_close(first, second, atol=0, rtol=0)
    elif isinstance(first, (tuple, list)):
        assert isinstance(second, (tuple, list)) and len(first) == len(second)
        for a, b in zip(first, second):
            assert_same_values(a, b)
    else:
        assert type(first) is type(second)


@pytest.mark.parametrize("model_class", [NvaeModel, NvaeForConditionalGeneration])
@pytest.mark.parametrize("bottleneck", ["nvib", "none"])
def test_return_dict_false_gives_the_output_as_a_tuple(model_class, bottleneck):
    torch.manual_seed(0)
    model = model_class(tiny_config(bottleneck=bottleneck)).eval()
    inputs = batch()
    if model_class is NvaeForConditionalGeneration:
        inputs["labels"] = inputs["input_ids"].masked_fill(inputs["input_ids"].eq(0), -100)
    extra = dict(output_hidden_states=True, output_attentions=True)
    with torch.no_grad():
        output = model(**inputs, **extra)
        as_tuple = model(**inputs, **extra, return_dict=False)
    assert isinstance(output, ModelOutput) and isinstance(as_tuple, tuple) and not isinstance(as_tuple, ModelOutput)
    assert len(as_tuple) == len(output.to_tuple()) > 3
    assert_same_values(as_tuple, output.to_tuple())
    first = output.loss if model_class is NvaeForConditionalGeneration else output.last_hidden_state
    torch.testing.assert_close(as_tuple[0], first, atol=0, rtol=0)


@pytest.mark.parametrize("scale_embedding", [False, True])
@pytest.mark.parametrize("model_class", [NvaeModel, NvaeForConditionalGeneration])
def test_inputs_embeds_match_input_ids(model_class, scale_embedding):
    """``get_input_embeddings()(ids)`` as ``inputs_embeds`` / ``decoder_inputs_embeds`` gives the ids' result, as in
    transformers' ``test_inputs_embeds_matches_input_ids`` (so the shared embedding carries the √D scale too)."""
    torch.manual_seed(0)
    model = model_class(tiny_config(scale_embedding=scale_embedding)).eval()
    inputs = batch()
    decoder_ids = torch.randint(3, 99, (2, 5), generator=torch.Generator().manual_seed(1))
    embed = model.get_input_embeddings()
    with torch.no_grad():
        from_ids = model(**inputs, decoder_input_ids=decoder_ids)
        from_embeds = model(
            inputs_embeds=embed(inputs["input_ids"]),
            attention_mask=inputs["attention_mask"],
            decoder_inputs_embeds=embed(decoder_ids),
        )
        encoder_only = model(
            inputs_embeds=embed(inputs["input_ids"]),
            attention_mask=inputs["attention_mask"],
            decoder_input_ids=decoder_ids,
        )
    name = "logits" if model_class is NvaeForConditionalGeneration else "last_hidden_state"
    torch.testing.assert_close(getattr(from_embeds, name), getattr(from_ids, name), atol=1e-6, rtol=0)
    torch.testing.assert_close(getattr(encoder_only, name), getattr(from_ids, name), atol=1e-6, rtol=0)
    torch.testing.assert_close(from_embeds.encoder_last_hidden_state, from_ids.encoder_last_hidden_state)


def test_no_split_modules_name_existing_layer_classes():
    """``device_map="auto"`` must not split a layer (its residual stream) across devices."""
    model = NvaeForConditionalGeneration(tiny_config())
    names = {type(module).__name__ for module in model.modules()}
    assert NvaePreTrainedModel._no_split_modules
    assert {"BartEncoderLayer", "NvaeDecoderLayer"} <= set(NvaePreTrainedModel._no_split_modules)
    assert {"BartEncoderLayer", "NvaeDecoderLayer"} <= names
    prenorm = {type(m).__name__ for m in NvaeForConditionalGeneration(tiny_config(normalize_before=True)).modules()}
    assert {"MBartEncoderLayer", "NvaePreNormDecoderLayer"} <= prenorm


def test_meta_device_init_and_device_map_loading(tmp_path):
    config = tiny_config()
    with torch.device("meta"):
        on_meta = NvaeForConditionalGeneration(config)
    assert all(p.device.type == "meta" for p in on_meta.parameters())
    torch.manual_seed(0)
    model = NvaeForConditionalGeneration(config).eval()
    model.save_pretrained(tmp_path)
    loaded = NvaeForConditionalGeneration.from_pretrained(tmp_path, device_map="auto").eval()
    assert all(t.device.type == "cpu" for t in [*loaded.parameters(), *loaded.buffers()])
    reference_buffers = dict(model.named_buffers())
    for name, buffer in loaded.named_buffers():  # the prior's buffers too (not all are saved)
        torch.testing.assert_close(buffer, reference_buffers[name], atol=0, rtol=0)
    inputs = batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits, model(**inputs).logits, atol=0, rtol=0)


@pytest.fixture(scope="module")
def tiny_text_model(tmp_path_factory):
    """A tiny NVAE saved with the shipped wordpiece-8k tokenizer."""
    from nvib_hf.data import load_tokenizer

    tokenizer = load_tokenizer("wordpiece-8k")
    config = tiny_text_config(tokenizer)
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny_text_model")
    NvaeForConditionalGeneration(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_text2text_pipeline_task_is_removed_in_transformers_5(tiny_text_model):
    """Transformers 5 removed ``text2text-generation`` (every version in this project's range): the call fails
    with the library's own message, for any model, before the model is looked at."""
    with pytest.raises(KeyError, match="text2text-generation has been removed"):
        transformers.pipeline("text2text-generation", model=str(tiny_text_model), tokenizer=str(tiny_text_model))


def test_text_to_text_by_generate_and_decode(tiny_text_model):
    """What the removed pipeline did: tokenizer -> ``generate`` -> ``batch_decode``, from the saved directory."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_text_model)
    model = NvaeForConditionalGeneration.from_pretrained(tiny_text_model).eval()
    encoded = tokenizer(["a man walks his dog", "rain"], return_tensors="pt", padding=True)
    generated = model.generate(**encoded, max_new_tokens=5, do_sample=False)
    texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
    assert len(texts) == 2 and all(isinstance(text, str) and text.strip() for text in texts)
    assert generated.shape[0] == 2 and generated.shape[1] <= 6  # decoder start + at most max_new_tokens
    alone = model.generate(**tokenizer(["rain"], return_tensors="pt"), max_new_tokens=5, do_sample=False)
    assert tokenizer.decode(alone[0], skip_special_tokens=True) == texts[1]  # padding does not change a row
