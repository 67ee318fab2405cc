"""trust_remote_code loading where nvib_hf is not importable, and push/pull through the Hub API test double."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from nvib_hf.data import load_default_tokenizer
from tests.conftest_hub import hub_environment
from tests.test_modeling_nvae import NvaeModelTester

# Runs in a fresh interpreter: nvib_hf is blocked (sys.modules entry None => ImportError) and the repo is off sys.path.
REMOTE_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    sys.path = [p for p in sys.path if p not in ("", {repo!r})]
    sys.modules["nvib_hf"] = None
    try:
        import nvib_hf  # noqa: F401
        raise SystemExit("nvib_hf must not be importable here")
    except ImportError:
        pass
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    model = AutoModelForSeq2SeqLM.from_pretrained({source!r}, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    inputs = torch.load({inputs!r})
    with torch.no_grad():
        logits = model(**inputs).logits
    ids = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=6, num_beams=2)
    extra = {{}}
    if {with_tokenizer}:
        extra["vocab"] = len(AutoTokenizer.from_pretrained({source!r}))
    torch.save({{"logits": logits, "ids": ids, **extra}}, {output!r})
    """
)


def run_remote(source: str, tmp_path: Path, inputs: dict, env: dict | None = None, with_tokenizer=False) -> dict:
    torch.save(inputs, tmp_path / "inputs.pt")
    script = REMOTE_SCRIPT.format(
        repo=str(Path(__file__).resolve().parents[1]),
        source=source,
        inputs=str(tmp_path / "inputs.pt"),
        output=str(tmp_path / "out.pt"),
        with_tokenizer=with_tokenizer,
    )
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), **(env or {})}
    environment.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(tmp_path / "out.pt")


def reference_outputs(model, inputs) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        logits = model(**inputs).logits
    ids = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=6, num_beams=2)
    return logits, ids


@pytest.fixture
def model_and_inputs():
    tester = NvaeModelTester(init_std=0.3)
    inputs = {k: v for k, v in tester.inputs().items() if k != "labels"}
    return tester.model().eval(), inputs


def test_remote_code_loads_without_nvib_hf(model_and_inputs, tmp_path):
    model, inputs = model_and_inputs
    model.save_pretrained(tmp_path / "saved")
    for name in ("modeling_nvae.py", "configuration_nvae.py", "nvib.py", "kl.py", "denoising_attention.py"):
        assert (tmp_path / "saved" / name).exists(), name
    remote = run_remote(str(tmp_path / "saved"), tmp_path, inputs)
    logits, ids = reference_outputs(model, inputs)
    torch.testing.assert_close(remote["logits"], logits, atol=0, rtol=0)
    assert torch.equal(remote["ids"], ids)


def test_push_to_hub_and_load_back(model_and_inputs, hub_double, tmp_path):
    model, inputs = model_and_inputs
    tokenizer = load_default_tokenizer()
    model.push_to_hub("user/tiny-nvae")
    tokenizer.push_to_hub("user/tiny-nvae")
    files = set(hub_double.list_files("user/tiny-nvae"))
    assert {"config.json", "model.safetensors", "modeling_nvae.py", "nvib.py", "tokenizer_config.json"} <= files
    assert files & {"tokenizer.json", "vocab.txt"}
    loaded = AutoModelForSeq2SeqLM.from_pretrained("user/tiny-nvae").eval()  # nvib_hf registered: no remote code
    logits, ids = reference_outputs(model, inputs)
    torch.testing.assert_close(reference_outputs(loaded, inputs)[0], logits, atol=0, rtol=0)
    assert len(AutoTokenizer.from_pretrained("user/tiny-nvae")) == len(tokenizer)
    env = hub_environment(hub_double.endpoint, tmp_path / "remote_home", hub_double.token)
    remote = run_remote("user/tiny-nvae", tmp_path, inputs, env=env, with_tokenizer=True)
    torch.testing.assert_close(remote["logits"], logits, atol=0, rtol=0)
    assert torch.equal(remote["ids"], ids) and remote["vocab"] == len(tokenizer)
    assert not hub_double.failures
