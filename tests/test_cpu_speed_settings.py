"""The CPU speed settings of a training run: glibc keeps freed memory (nvib_hf.utils.allocator), and bf16 autocast on a
CPU runs self-attention through SDPA's math kernel (nvib_hf.training.precision)."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F
from transformers import Seq2SeqTrainingArguments

from nvib_hf.training.options import TrainOptions
from nvib_hf.training.precision import attention_kernels
from nvib_hf.training.trainer import NvaeTrainer
from nvib_hf.utils import allocator
from tests.nvae_testing import tiny_config

glibc = pytest.mark.skipif(allocator._libc() is None, reason="needs glibc's mallopt")


@glibc
def test_malloc_limits_are_taken_by_glibc():
    assert allocator.keep_freed_memory() is True


def test_malloc_limits_are_a_no_op_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator._libc() is None
    assert allocator.keep_freed_memory() is False


def test_keep_freed_memory_is_a_validated_option_and_on_by_default():
    assert TrainOptions().keep_freed_memory is True
    with pytest.raises(ValueError, match="keep_freed_memory must be true or false"):
        TrainOptions.from_preset("tiny", keep_freed_memory="yes").validate()


def _kernels_in_use() -> tuple[bool, bool]:
    """(flash enabled, math enabled): the global SDPA switches that ``sdpa_kernel`` sets."""
    return torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.math_sdp_enabled()


@pytest.mark.parametrize(
    ("bf16", "device", "math_only"), [(True, "cpu", True), (False, "cpu", False), (True, "cuda", False)]
)
def test_attention_kernels_choose_math_for_bf16_on_a_cpu_only(bf16, device, math_only):
    before = _kernels_in_use()
    with attention_kernels(bf16, device):
        assert _kernels_in_use() == ((False, True) if math_only else before)
    assert _kernels_in_use() == before


def test_math_kernel_gives_the_same_attention_and_gradients_in_bf16():
    """The kernel choice changes speed, not the function: bf16 math against bf16 flash, both against fp32."""
    torch.manual_seed(0)
    q, k, v = (torch.randn(4, 2, 9, 8, requires_grad=True) for _ in range(3))
    mask = torch.zeros(4, 1, 9, 9).masked_fill(torch.rand(4, 1, 1, 9) < 0.2, float("-inf"))
    mask[..., 0] = 0.0  # every query sees at least one key

    def run(bf16: bool):
        for t in (q, k, v):
            t.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), attention_kernels(bf16, "cpu"):
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out.float().pow(2).sum().backward()
        return out.float(), [t.grad.clone() for t in (q, k, v)]

    out32, grads32 = run(False)
    out16, grads16 = run(True)
    assert torch.allclose(out16, out32, atol=3e-2, rtol=3e-2)
    for g16, g32 in zip(grads16, grads32):
        assert torch.allclose(g16, g32, atol=6e-2, rtol=6e-2)


def test_trainer_steps_under_bf16_run_in_bf16_with_the_math_kernel(tmp_path, monkeypatch):
    """One real Trainer step with bf16=True on the CPU: every SDPA call sees bf16 inputs (accelerate's autocast)
    with only the math kernel enabled; after the step the switches are as before."""
    from datasets import Dataset

    from nvib_hf import NvaeForConditionalGeneration

    seen: list[tuple[torch.dtype, tuple[bool, bool]]] = []
    real_sdpa = F.scaled_dot_product_attention

    def spy(query, *args, **kwargs):
        seen.append((query.dtype, _kernels_in_use()))
        return real_sdpa(query, *args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    ids = [[1, 5 + i, 6 + i, 7, 2] for i in range(8)]
    data = Dataset.from_dict({"input_ids": ids, "labels": [x[1:] for x in ids]})
    args = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path),
        bf16=True,
        use_cpu=True,
        report_to="none",
        max_steps=1,
        save_strategy="no",
        per_device_train_batch_size=4,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    torch.manual_seed(0)
    before = _kernels_in_use()
    trainer = NvaeTrainer(NvaeForConditionalGeneration(tiny_config()), args, train_dataset=data)
    trainer.train()
    assert seen and all(entry == (torch.bfloat16, (False, True)) for entry in seen)
    assert _kernels_in_use() == before
    # After training the model evaluates as saved and loaded: in fp32, not under the training autocast.
    batch = {"input_ids": torch.tensor(ids[:2]), "labels": torch.tensor([x[1:] for x in ids[:2]])}
    model = trainer.plain_model().eval()
    seen.clear()
    with torch.no_grad():
        assert model(**batch).logits.dtype == torch.float32
    assert seen and all(dtype == torch.float32 for dtype, _ in seen)
    # ... with the forward's own decorators intact: return_dict (can_return_tuple), and generate(), which passes it.
    assert isinstance(model(**batch, return_dict=False), tuple)
    generated = model.generate(input_ids=batch["input_ids"], max_new_tokens=3, do_sample=False)
    assert generated.shape[0] == 2
