"""The soft-prompt readout: a prompt started from text reads back that text's tokens."""
import math

import pytest
import torch
from peft import get_peft_model

from studio.config.settings import TrainConfig
from studio.measure.prompt_readout import CAVEAT, nearest_tokens, readout, readout_run
from studio.model.base_model import load_base
from studio.model.methods import registry
from studio.model.methods.prompt_tuning import PROMPT_TUNING, PromptSettings
from studio.train.training import TrainSpec, train_run
from tests.conftest import TINY_TRAIN
from tests.studios import a_record


def peft_init_ids(tokenizer, text: str, n: int) -> list[int]:
    """PEFT's TEXT init: the text's ids (with the end-of-text token) cut or repeated to n."""
    ids = tokenizer(text)["input_ids"]
    return (ids * math.ceil(n / len(ids)))[:n]


@pytest.mark.parametrize("num_virtual_tokens,text", [
    (20, "Summarize the following conversation."),      # shorter than the prompt: repeated
    (6, "Tell me briefly what the two people agreed on in the end of this talk."),  # longer: cut
])
def test_untrained_text_prompt_reads_back_its_text(studio, num_virtual_tokens, text):
    base, tokenizer = load_base(studio.base.path)
    settings = PromptSettings(prompt_num_virtual_tokens=num_virtual_tokens, prompt_init="text", prompt_init_text=text)
    model = get_peft_model(base, PROMPT_TUNING.peft_config(settings, studio.base.path))
    prompt = model.get_prompt_embedding_to_save("default")
    result = readout(prompt, model.peft_config["default"].to_dict(), base, tokenizer, top_k=3)
    expected = peft_init_ids(tokenizer, text, num_virtual_tokens)
    assert [v["index"] for v in result["virtual_tokens"]] == list(range(num_virtual_tokens))
    assert [v["nearest"][0]["token_id"] for v in result["virtual_tokens"]] == expected
    assert [v["nearest"][0]["token"] for v in result["virtual_tokens"]] == tokenizer.convert_ids_to_tokens(expected)
    for v in result["virtual_tokens"]:
        cosines = [n["cosine"] for n in v["nearest"]]
        assert len(cosines) == 3 and cosines == sorted(cosines, reverse=True)
        assert cosines[0] == pytest.approx(1.0, abs=1e-5) and cosines[1] < 0.999
    assert result["caveat"] == CAVEAT and result["num_transformer_submodules"] == 1


def test_prompt_trained_at_a_negligible_rate_reads_back_its_init_text(studio):
    spec = TrainSpec("prompt", TrainConfig(steps=2, learning_rate=1e-9, **TINY_TRAIN),
                     registry.method_settings("prompt"))
    record = train_run(spec, studio.store, studio.base, studio.data)
    assert record.status == "completed", record.error
    base, tokenizer = load_base(studio.base.path)
    result = readout_run(studio.store, record.run_id, base, tokenizer, top_k=5)
    settings = PromptSettings()
    expected = peft_init_ids(tokenizer, settings.prompt_init_text, settings.prompt_num_virtual_tokens)
    assert result["run_id"] == record.run_id and result["num_virtual_tokens"] == settings.prompt_num_virtual_tokens
    assert [v["nearest"][0]["token_id"] for v in result["virtual_tokens"]] == expected
    assert all(v["nearest"][0]["cosine"] > 0.999 for v in result["virtual_tokens"])


def test_nearest_tokens_by_cosine_not_length():
    class Names:
        def __len__(self):
            return 3

        def convert_ids_to_tokens(self, ids):
            return [["east", "north", "north-east"][i] for i in ids]

    vocabulary = torch.tensor([[1.0, 0.0], [0.0, 10.0], [3.0, 3.0], [0.0, -1.0]])  # row 3: past the vocabulary
    prompt = torch.tensor([[0.1, 0.09], [0.0, -5.0]])
    result = nearest_tokens(prompt, vocabulary, Names(), top_k=2)
    assert [n["token"] for n in result[0]["nearest"]] == ["north-east", "east"]
    cosine = (0.1 * 3 + 0.09 * 3) / (math.hypot(0.1, 0.09) * math.hypot(3, 3))
    assert result[0]["nearest"][0]["cosine"] == pytest.approx(cosine)
    # The padding row (0, -1) would be a perfect match but has no name, so it is never offered.
    assert [n["token_id"] for n in result[1]["nearest"]] == [0, 2]
    assert result[1]["nearest"][0]["cosine"] == pytest.approx(0.0, abs=1e-6)
    for bad in (0, 51, 2.5, True):
        with pytest.raises(ValueError, match="nearest tokens"):
            nearest_tokens(prompt, vocabulary, Names(), top_k=bad)
    with pytest.raises(ValueError, match="another base model"):
        nearest_tokens(torch.zeros(2, 3), vocabulary, Names())


def test_readout_refuses_runs_without_a_prompt(tmp_path):
    class OneLoraRun:
        def require_loadable(self, run_id):
            return a_record(run_id)

        def model_dir(self, run_id):
            return tmp_path

    with pytest.raises(ValueError, match="only prompt-tuning runs"):
        readout_run(OneLoraRun(), "lora-1", None, None)
    (tmp_path / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    OneLoraRun.require_loadable = lambda self, run_id: a_record(run_id, method="prompt")
    with pytest.raises(ValueError, match="not prompt tuning"):
        readout_run(OneLoraRun(), "mislabelled", None, None)
