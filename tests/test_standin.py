"""studio/model/standin.py: the tiny offline model, built once, with a tokenizer that round-trips dialogue text."""
from studio.model.standin import STANDIN_NAME, build_standin


def test_standin_is_built_once_and_reused(tmp_path):
    folder = build_standin(tmp_path / STANDIN_NAME)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert build_standin(tmp_path / STANDIN_NAME) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob("*.tmp-*"))


def test_standin_tokenizer_round_trips_dialogue_text(cache_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(cache_dir / STANDIN_NAME))
    ids = tokenizer("#Person1#: Can I pay by card?")["input_ids"]
    assert ids[-1] == tokenizer.eos_token_id == 1 and tokenizer.pad_token_id == 0
    assert tokenizer.decode(ids, skip_special_tokens=True) == "#Person1#: Can I pay by card?"
