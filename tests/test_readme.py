"""The README's Python quick start runs as written (on a tiny saved model instead of the main job's)."""

from __future__ import annotations

import re
from pathlib import Path

from nvib_hf.data import load_default_tokenizer
from tests.test_modeling_nvae import NvaeModelTester

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quick_start_runs(tmp_path):
    text = README.read_text()
    section = text[text.index("## Python quick start") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    tokenizer = load_default_tokenizer()
    model = NvaeModelTester(
        vocab_size=len(tokenizer), bos_token_id=101, eos_token_id=102, decoder_start_token_id=101
    ).model()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    namespace: dict = {}
    exec(compile(code.replace("outputs/nvae-default", str(tmp_path)), "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["out"].kl_dirichlet is not None and namespace["latent"].vectors_kept.shape == (2,)
