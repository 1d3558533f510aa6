import pytest

from shipshape_train.vocab import build_vocab, read_vocab, validate_vocab, vocab_to_text, write_vocab


def test_order_specials_frequency_then_lexicographic():
    texts = [["b", "a", "c", "a"], ["c", "b", "d", "e"], ["a", "e", "z"]]
    assert build_vocab(texts, min_freq=2) == ["<unk>", "<pad>", "a", "b", "c", "e"]
    assert build_vocab(texts, min_freq=1) == ["<unk>", "<pad>", "a", "b", "c", "e", "d", "z"]
    assert build_vocab(texts, min_freq=2, max_size=4) == ["<unk>", "<pad>", "a", "b"]


def test_specials_in_text_are_not_duplicated():
    assert build_vocab([["<unk>", "<pad>", "x", "x"]]) == ["<unk>", "<pad>", "x"]


def test_file_format(tmp_path):
    path = tmp_path / "vocab.txt"
    write_vocab(str(path), ["<unk>", "<pad>", "naïve", "οδος"])
    assert path.read_bytes() == "<unk>\n<pad>\nnaïve\nοδος\n".encode("utf-8")
    assert read_vocab(str(path)) == ["<unk>", "<pad>", "naïve", "οδος"]
    assert vocab_to_text(["a"]) == "a\n"


@pytest.mark.parametrize(
    "tokens, message",
    [
        ([], "empty"),
        (["<unk>", "<pad>", "a", "a"], "duplicate"),
        (["<unk>", "a b"], "whitespace"),
        (["<unk>", "a\u00a0b"], "whitespace"),
        (["<unk>", "a\x85"], "whitespace"),
        (["<unk>", ""], "empty string"),
    ],
)
def test_refuses_invalid(tokens, message):
    with pytest.raises(ValueError, match=message):
        validate_vocab(tokens)


def test_read_refuses_bad_files(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"<unk>\n<pad>")
    with pytest.raises(ValueError, match="newline"):
        read_vocab(str(path))
    path.write_bytes(b"<unk>\r\n<pad>\r\n")
    with pytest.raises(ValueError, match="CR"):
        read_vocab(str(path))
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_vocab(str(path))
