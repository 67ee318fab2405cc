"""End-to-end Hub push/pull tests against the loopback TEST DOUBLE of the Hub HTTP API (``tests/hub_double.py``).

The real ``huggingface_hub`` / ``transformers`` client code runs; only the server is a double (not the Hub).
"""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM

from tests.hub_double import HubDouble, push_folder

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "a", "dog"]

CUSTOM_CODE = """
import torch
from transformers import PreTrainedConfig, PreTrainedModel


class TinyCustomConfig(PreTrainedConfig):
    model_type = "tiny-custom"

    def __init__(self, width=4, **kwargs):
        self.width = width
        super().__init__(**kwargs)


class TinyCustomModel(PreTrainedModel):
    config_class = TinyCustomConfig

    def __init__(self, config):
        super().__init__(config)
        self.proj = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
        return self.proj(x)
"""


def tiny_bert(seed: int = 0) -> BertForMaskedLM:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37)
    return BertForMaskedLM(config).eval()


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0, msg=key)


def test_fixture_points_the_clients_at_the_double(hub_double: HubDouble) -> None:
    assert constants.ENDPOINT == hub_double.endpoint == hub_double.url
    assert constants.HF_HUB_DISABLE_XET and not constants.HF_HUB_OFFLINE
    assert constants.HF_HUB_CACHE.startswith(str(hub_double.hf_home))
    assert HfApi().whoami()["name"] == hub_double.user
    assert hub_double.failures == []


def test_model_push_then_from_pretrained(hub_double: HubDouble) -> None:
    model = tiny_bert()
    model.push_to_hub("user/tiny-bert")

    files = hub_double.list_files("user/tiny-bert")
    assert {".gitattributes", "README.md", "config.json", "model.safetensors"} <= set(files)
    assert hub_double.get_commit("user/tiny-bert").files["model.safetensors"].lfs
    assert ("POST", "/user/tiny-bert.git/info/lfs/objects/batch") in hub_double.requests

    loaded = AutoModelForMaskedLM.from_pretrained("user/tiny-bert")
    assert isinstance(loaded, BertForMaskedLM)
    assert_same_weights(model, loaded)
    assert hub_double.failures == []


def test_tokenizer_push_then_from_pretrained(hub_double: HubDouble, tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    tokenizer.push_to_hub("user/tiny-tokenizer")

    loaded = AutoTokenizer.from_pretrained("user/tiny-tokenizer")
    assert type(loaded) is type(tokenizer)
    assert loaded.get_vocab() == tokenizer.get_vocab()
    text = "the cats sat on a mat"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert hub_double.failures == []


def test_second_push_is_a_new_commit(hub_double: HubDouble) -> None:
    first = tiny_bert(seed=0)
    first_commit = first.push_to_hub("user/tiny-bert", commit_message="first").oid
    second = tiny_bert(seed=1)
    second_commit = second.push_to_hub("user/tiny-bert", commit_message="second").oid

    assert first_commit != second_commit
    assert [c.title for c in hub_double.history("user/tiny-bert")[:2]] == ["second", "first"]
    assert_same_weights(second, AutoModelForMaskedLM.from_pretrained("user/tiny-bert"))
    assert_same_weights(first, AutoModelForMaskedLM.from_pretrained("user/tiny-bert", revision=first_commit))
    assert hub_double.failures == []


def test_missing_repo_file_and_revision(hub_double: HubDouble) -> None:
    with pytest.raises(OSError, match="user/does-not-exist"):
        AutoModel.from_pretrained("user/does-not-exist")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("user/does-not-exist", "config.json")

    HfApi().create_repo("user/empty")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("user/empty", "config.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("user/empty", ".gitattributes", revision="no-such-branch")
    assert hub_double.failures == []


def _custom_code_folder(folder: Path) -> None:
    """A saved trust_remote_code model (``custom.py`` + ``auto_map``) plus arbitrary extra files."""
    folder.mkdir()
    (folder / "custom.py").write_text(CUSTOM_CODE)
    spec = importlib.util.spec_from_file_location("hub_double_custom", folder / "custom.py")
    assert spec is not None and spec.loader is not None
    custom = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(custom)
    torch.manual_seed(0)
    custom.TinyCustomModel(custom.TinyCustomConfig(width=4)).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "custom.TinyCustomConfig", "AutoModel": "custom.TinyCustomModel"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "notes").mkdir()
    (folder / "notes" / "readme.txt").write_text("arbitrary text file\n")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 40)


def test_push_folder_with_custom_code_round_trips(hub_double: HubDouble, tmp_path: Path) -> None:
    folder = tmp_path / "custom-model"
    _custom_code_folder(folder)
    commit = push_folder(hub_double, "user/custom-model", folder)
    expected = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert commit.oid == hub_double.get_repo("user/custom-model").refs["main"]
    assert set(expected) <= set(hub_double.list_files("user/custom-model"))

    snapshot = Path(snapshot_download("user/custom-model"))
    for relative in expected:
        assert (snapshot / relative).read_bytes() == (folder / relative).read_bytes(), relative
    single = hf_hub_download("user/custom-model", "notes/readme.txt", cache_dir=tmp_path / "other-cache")
    assert Path(single).read_text() == "arbitrary text file\n"
    tree = {e.path for e in HfApi().list_repo_tree("user/custom-model", recursive=True)}
    assert {"notes", "notes/readme.txt", "custom.py", "blob.bin"} <= tree

    config = AutoConfig.from_pretrained("user/custom-model", trust_remote_code=True)
    model = AutoModel.from_pretrained("user/custom-model", trust_remote_code=True)
    assert type(model).__name__ == "TinyCustomModel" and config.width == 4
    reference = load_file(folder / "model.safetensors")
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=0)
    assert hub_double.failures == []


def test_hub_api_surface(hub_double: HubDouble, tmp_path: Path) -> None:
    api = HfApi()
    api.create_repo("user/misc")
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="dir/a.txt", repo_id="user/misc")
    api.upload_file(path_or_fileobj=b"\x00" * 64, path_in_repo="w.safetensors", repo_id="user/misc")

    info = api.model_info("user/misc", files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings or []}
    assert info.sha == hub_double.get_repo("user/misc").refs["main"]
    assert siblings["w.safetensors"].lfs is not None and siblings["dir/a.txt"].lfs is None
    assert {p.path for p in api.get_paths_info("user/misc", ["dir", "dir/a.txt", "missing"])} == {"dir", "dir/a.txt"}
    assert api.file_exists("user/misc", "dir/a.txt") and not api.file_exists("user/misc", "nope.txt")

    pr = api.upload_file(path_or_fileobj=b"v2", path_in_repo="dir/a.txt", repo_id="user/misc", create_pr=True)
    assert pr.pr_num == 1
    assert Path(hf_hub_download("user/misc", "dir/a.txt", revision="refs/pr/1")).read_bytes() == b"v2"
    api.create_branch("user/misc", branch="dev")
    api.delete_file("dir/a.txt", repo_id="user/misc", revision="dev")
    assert "dir/a.txt" in hub_double.list_files("user/misc") and "dir/a.txt" not in hub_double.list_files(
        "user/misc", revision="dev"
    )

    url = f"{hub_double.endpoint}/user/misc/resolve/main/dir/a.txt"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=1-3"})) as partial:
        assert (partial.status, partial.read(), partial.headers["Content-Range"]) == (206, b"ell", "bytes 1-3/5")
    assert hub_double.failures == []
