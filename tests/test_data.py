"""Tests of nvib_hf.data: shipped tokenizer and corpus, user corpora, tokenisation, sentence splitting."""

from __future__ import annotations

import gzip
import json

import pytest

import nvib_hf.data as data


@pytest.fixture(scope="module")
def tokenizer():
    return data.load_default_tokenizer()


@pytest.fixture(scope="module")
def default_corpus():
    return data.load_sentences()


def make_sentences(n: int, start: int = 0) -> list[str]:
    """``n`` distinct English sentences of 10+ word pieces."""
    return [
        f"Sentence number {i} tells a short story about the weather in the old town." for i in range(start, start + n)
    ]


# --- tokenizer -------------------------------------------------------------------------------------------------


def test_default_tokenizer(tokenizer):
    from transformers import BertTokenizerFast, PreTrainedTokenizerFast

    assert isinstance(tokenizer, PreTrainedTokenizerFast) and isinstance(tokenizer, BertTokenizerFast)
    assert tokenizer.is_fast and len(tokenizer) == data.DEFAULT_VOCAB_SIZE == 30522
    ids = (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id)
    assert ids == (0, 100, 101, 102) and tokenizer.mask_token_id == 103
    assert tokenizer.model_max_length == 512
    encoded = tokenizer("The Cat sat on the mat, did it not?")["input_ids"]
    assert encoded[0] == 101 and encoded[-1] == 102
    assert tokenizer.decode(encoded, skip_special_tokens=True) == "the cat sat on the mat, did it not?"
    assert tokenizer.tokenize("Tokenization") == ["token", "##ization"]


# --- shipped corpus --------------------------------------------------------------------------------------------


def test_default_corpus_splits(default_corpus, tokenizer):
    assert set(default_corpus) == {"train", "validation", "test"}
    sizes = {name: len(split) for name, split in default_corpus.items()}
    assert sizes == {"train": 30135, "validation": 2000, "test": 2000}
    assert default_corpus["train"].column_names == ["text"]
    everything = [s for name in data.SPLITS for s in default_corpus[name]["text"]]
    assert len(set(everything)) == len(everything), "duplicates within or across splits"
    assert all(s == s.lower() and s == s.strip() for s in everything)
    lengths = data.count_word_pieces(everything, tokenizer)
    assert min(lengths) >= 6 and max(lengths) <= 49


def test_default_corpus_is_stable_and_capped(default_corpus):
    small = data.load_sentences("default", max_sentences=100, validation_size=50, test_size=20)
    assert [len(small[s]) for s in data.SPLITS] == [100, 50, 20]
    assert small["train"]["text"] == default_corpus["train"]["text"][:100]
    assert small["test"]["text"] == default_corpus["test"]["text"][:20]


def test_default_corpus_narrower_length_filter(tokenizer):
    narrow = data.load_sentences(tokenizer=tokenizer, min_tokens=10, max_tokens=12, max_sentences=200)
    lengths = data.count_word_pieces(narrow["validation"]["text"], tokenizer)
    assert 0 < len(lengths) < 2000 and all(10 <= n <= 12 for n in lengths)


# --- user corpora ----------------------------------------------------------------------------------------------


def check_user_corpus(dd, n_total: int, tokenizer) -> None:
    assert [len(dd[s]) for s in ("validation", "test")] == [3, 2]
    assert len(dd["train"]) == n_total - 5
    everything = [t for s in data.SPLITS for t in dd[s]["text"]]
    assert len(set(everything)) == len(everything)
    assert all(t == t.lower() for t in everything)
    assert all(6 <= n <= 49 for n in data.count_word_pieces(everything, tokenizer))


@pytest.mark.parametrize("name", ["corpus.txt", "corpus.txt.gz"])
def test_user_text_file(tmp_path, tokenizer, name):
    sentences = make_sentences(20)
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, 20, 4)]  # 5 lines of 4 sentences
    lines = paragraphs + ["", "Too short.", sentences[0], "x " * 80]  # blank, short, duplicate, too long
    path = tmp_path / name
    content = "\n".join(lines) + "\n"
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(content.encode("utf-8")))
    else:
        path.write_text(content, encoding="utf-8")
    dd = data.load_sentences(str(path), tokenizer=tokenizer, validation_size=3, test_size=2)
    check_user_corpus(dd, 20, tokenizer)
    assert set(dd["train"]["text"]) | set(dd["validation"]["text"]) | set(dd["test"]["text"]) == {
        s.lower() for s in sentences
    }
    again = data.load_sentences(path, tokenizer=tokenizer, validation_size=3, test_size=2)
    assert all(again[s]["text"] == dd[s]["text"] for s in data.SPLITS), "not deterministic"
    other_seed = data.load_sentences(path, tokenizer=tokenizer, validation_size=3, test_size=2, seed=1)
    assert other_seed["train"]["text"] != dd["train"]["text"]


def test_user_jsonl_file(tmp_path, tokenizer):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps({"text": s, "id": i}) for i, s in enumerate(make_sentences(12))) + "\n")
    dd = data.load_sentences(path, tokenizer=tokenizer, validation_size=3, test_size=2, max_sentences=4)
    assert [len(dd[s]) for s in data.SPLITS] == [4, 3, 2]


def test_user_saved_dataset(tmp_path, tokenizer):
    from datasets import Dataset, DatasetDict

    Dataset.from_dict({"text": make_sentences(15)}).save_to_disk(str(tmp_path / "flat"))
    check_user_corpus(
        data.load_sentences(tmp_path / "flat", tokenizer=tokenizer, validation_size=3, test_size=2), 15, tokenizer
    )

    splits = {"train": make_sentences(10), "validation": make_sentences(3, 100), "test": make_sentences(2, 200)}
    splits["train"].append(splits["test"][0])  # a test sentence leaking into train is removed from train
    DatasetDict({k: Dataset.from_dict({"text": v}) for k, v in splits.items()}).save_to_disk(str(tmp_path / "dd"))
    dd = data.load_sentences(tmp_path / "dd", tokenizer=tokenizer)
    assert [len(dd[s]) for s in data.SPLITS] == [10, 3, 2]
    assert dd["test"]["text"] == [s.lower() for s in splits["test"]]

    DatasetDict({"train": Dataset.from_dict({"text": make_sentences(10)})}).save_to_disk(str(tmp_path / "train_only"))
    dd = data.load_sentences(tmp_path / "train_only", tokenizer=tokenizer, validation_size=1, test_size=1)
    assert [len(dd[s]) for s in data.SPLITS] == [8, 1, 1]


def test_user_lowercase_off(tmp_path, tokenizer):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(make_sentences(5)))
    dd = data.load_sentences(path, tokenizer=tokenizer, validation_size=1, test_size=1, lowercase=False)
    assert all(t.startswith("Sentence number") for t in dd["train"]["text"])


# --- errors ----------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path, tokenizer):
    with pytest.raises(FileNotFoundError, match="not found"):
        data.load_sentences(str(tmp_path / "nope.txt"), tokenizer=tokenizer)


def test_empty_file(tmp_path, tokenizer):
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n")
    with pytest.raises(ValueError, match="empty"):
        data.load_sentences(path, tokenizer=tokenizer)


def test_all_sentences_too_short(tmp_path, tokenizer):
    path = tmp_path / "short.txt"
    path.write_text("Hi there. Yes. No way!\nOk.\n")
    with pytest.raises(ValueError, match=r"no sentence left.*4 sentence\(s\).*dropped 4 with fewer than 6 word pieces"):
        data.load_sentences(path, tokenizer=tokenizer)


def test_bad_json_line(tmp_path, tokenizer):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": make_sentences(1)[0]}) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"line 2 of .*bad\.jsonl is not valid JSON"):
        data.load_sentences(path, tokenizer=tokenizer)
    path.write_text(json.dumps({"body": "no text field here"}) + "\n")
    with pytest.raises(ValueError, match=r'line 1 of .* has no string "text" field'):
        data.load_sentences(path, tokenizer=tokenizer)


def test_unsupported_extension_and_missing_column(tmp_path, tokenizer):
    from datasets import Dataset

    path = tmp_path / "c.csv"
    path.write_text("text\nhello\n")
    with pytest.raises(ValueError, match=r"unsupported corpus file extension '\.csv'"):
        data.load_sentences(path, tokenizer=tokenizer)
    Dataset.from_dict({"sentence": ["a b c"]}).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(ValueError, match=r'no "text" column \(columns: sentence\)'):
        data.load_sentences(tmp_path / "ds", tokenizer=tokenizer)


def test_datasets_name(monkeypatch, tokenizer):
    import datasets

    def fake_load_dataset(name, config=None):
        if name == "offline/corpus":
            raise ConnectionError("no internet")
        assert (name, config) == ("user/corpus", "small")
        return datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": make_sentences(8)})})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    dd = data.load_sentences("user/corpus:small", tokenizer=tokenizer, validation_size=1, test_size=1)
    assert [len(dd[s]) for s in data.SPLITS] == [6, 1, 1]
    with pytest.raises(ValueError, match=r"'offline/corpus' is not an existing file.*load_dataset.*no internet"):
        data.load_sentences("offline/corpus", tokenizer=tokenizer)


def test_too_few_sentences_for_splits(tmp_path, tokenizer):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(make_sentences(10)))
    with pytest.raises(ValueError, match=r"only 10 sentence\(s\).*validation_size=2000"):
        data.load_sentences(path, tokenizer=tokenizer)


# --- tokenisation ----------------------------------------------------------------------------------------------


def test_tokenize_dataset(tokenizer):
    from datasets import Dataset, DatasetDict

    texts = ["the cat sat on the mat.", "a much longer sentence " + "with many more words " * 20]
    dd = DatasetDict({"train": Dataset.from_dict({"text": texts[:1]}), "test": Dataset.from_dict({"text": texts})})
    out = data.tokenize_dataset(dd, tokenizer, max_length=128)
    row = out["train"][0]
    assert sorted(out["train"].column_names) == ["attention_mask", "input_ids", "labels"]
    assert row["input_ids"][0] == 101 and row["input_ids"][-1] == 102
    assert row["labels"] == row["input_ids"][1:] and row["labels"][0] != 101
    assert row["attention_mask"] == [1] * len(row["input_ids"])
    assert tokenizer.decode(row["labels"]) == "the cat sat on the mat. [SEP]"

    with pytest.raises(ValueError, match=r"sentence 1 of split 'test' has \d+ tokens.*max_length=16"):
        data.tokenize_dataset(dd, tokenizer, max_length=16)
    cut = data.tokenize_dataset(dd, tokenizer, max_length=16, truncate=True, keep_text=True)["test"][1]
    assert len(cut["input_ids"]) == 16 and cut["input_ids"][-1] == 102 and cut["text"] == texts[1]


def test_length_histogram(tokenizer):
    from datasets import Dataset, DatasetDict

    texts = ["one two three four five six.", "one two three four five six.", "a b c d e f g h i j."]
    tokenized = data.tokenize_dataset(DatasetDict({"train": Dataset.from_dict({"text": texts})}), tokenizer)["train"]
    hist = data.length_histogram(tokenized, 20)
    assert len(hist) == 21 and sum(hist) == pytest.approx(1.0)
    assert hist[9] == pytest.approx(2 / 3) and hist[13] == pytest.approx(1 / 3)  # 7 / 11 word pieces + CLS, SEP
    words_only = data.length_histogram(tokenized, 20, include_special_tokens=False)
    assert words_only[7] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="outside 0..max_len=10"):
        data.length_histogram(tokenized, 10)


# --- sentence splitting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived. He sat down.", ["Dr. Smith arrived.", "He sat down."]),
        ("Fruits, e.g. apples, are good. Pi is 3.14 or so.", ["Fruits, e.g. apples, are good.", "Pi is 3.14 or so."]),
        (
            "J. R. R. Tolkien wrote it. John F. Kennedy read it.",
            ["J. R. R. Tolkien wrote it.", "John F. Kennedy read it."],
        ),
        (
            "The U.S. Army won. It was in the U.S. The end came.",
            ["The U.S. Army won.", "It was in the U.S.", "The end came."],
        ),
        ("It cost $2.50 in 1990. Then, prices rose by 3.5%.", ["It cost $2.50 in 1990.", "Then, prices rose by 3.5%."]),
        ('Really? Yes! "Go." She went.', ["Really?", "Yes!", '"Go."', "She went."]),
        (
            "It was built c. 1200 by St. Louis and No. 5 of them.",
            ["It was built c. 1200 by St. Louis and No. 5 of them."],
        ),
        ("First line\nsecond  line ( ) here .", ["First line", "second line here."]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert data.split_sentences(text) == expected


def test_shuffle_and_split_is_deterministic():
    items = [str(i) for i in range(50)]
    a = data.shuffle_and_split(items, validation_size=5, test_size=5, seed=3)
    assert a == data.shuffle_and_split(items, validation_size=5, test_size=5, seed=3)
    assert sorted(a["train"] + a["validation"] + a["test"], key=int) == items
    assert [len(a[s]) for s in data.SPLITS] == [40, 5, 5]


def test_shipped_wordpiece_8k_tokenizer_loads_by_name():
    from nvib_hf.data import load_tokenizer

    tokenizer = load_tokenizer("wordpiece-8k")
    assert len(tokenizer) == 8000
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id) == (
        0,
        1,
        2,
        3,
    )
    ids = tokenizer("the city lies on the river.")["input_ids"]
    assert ids[0] == 2 and ids[-1] == 3 and 1 not in ids
    assert len(load_tokenizer("bert-base-uncased")) == 30522


def test_every_shipped_tokenizer_sees_the_same_splits():
    from nvib_hf.data import load_sentences, load_tokenizer

    bert = load_sentences(tokenizer=load_tokenizer("bert-base-uncased"))
    small = load_sentences(tokenizer=load_tokenizer("wordpiece-8k"))
    for split in ("train", "validation", "test"):
        assert bert[split]["text"] == small[split]["text"]


def test_prepare_data_makes_room_for_the_longest_sentence():
    from nvib_hf.training.run import TrainOptions, prepare_data

    options = TrainOptions.from_preset("tiny", tokenizer="wordpiece-8k")
    tokenizer, _, tokenized, probs = prepare_data(options)
    longest = max(len(ids) for split in tokenized.values() for ids in split["input_ids"])
    positions = options.model["max_position_embeddings"]
    assert positions >= longest and positions % 16 == 0 and len(probs) == positions + 2
