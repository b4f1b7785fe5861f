"""model/methods/prompt_tuning.py: its count on FLAN-T5-small's real architecture, and the prompt-tuning trap."""
import pytest
import torch

from bench.model import build_flan_t5_small_random
from studio.model.base_model import load_base
from studio.model.methods.method import parameter_report
from studio.model.methods.prompt_tuning import PROMPT_TUNING, PromptSettings
from studio.model.standin import STANDIN_NAME


def test_prompt_tuning_trains_20_x_512_on_the_encoder_only():
    model = PROMPT_TUNING.build(build_flan_t5_small_random(), PromptSettings(prompt_init="random"))
    report = parameter_report(model)
    assert report["trainable_params"] == 20 * 512
    assert report["total_params"] == 76_961_152 + 20 * 512


def test_prompt_config_uses_one_transformer_submodule():
    config = PROMPT_TUNING.peft_config(PromptSettings(prompt_init="random"), None)
    assert config.num_transformer_submodules == 1
    with pytest.raises(ValueError, match="tokenizer"):
        PROMPT_TUNING.peft_config(PromptSettings(prompt_init="text"), None)


def test_prompt_generation_uses_exactly_what_training_feeds(cache_dir):
    """The trained soft prompt must be what generate() prepends, and nothing on the decoder."""
    folder = str(cache_dir / STANDIN_NAME)
    model, tokenizer = load_base(folder)
    peft_model = PROMPT_TUNING.build(model, PromptSettings(prompt_num_virtual_tokens=5), folder)
    with torch.no_grad():  # make the prompt clearly non-trivial, as training would
        peft_model.prompt_encoder["default"].embedding.weight.normal_(0, 3)
    enc = tokenizer(["Summarize the following conversation.\n\n#Person1#: Hi.\n\nSummary: "], return_tensors="pt")
    labels = tokenizer(text_target=["#Person1# says hi."], return_tensors="pt")["input_ids"]
    peft_model.eval()
    with torch.no_grad():
        trained_loss = peft_model(**enc, labels=labels).loss
        # The same computation by hand: soft prompt + input embeddings on the encoder, plain decoder.
        prompt = peft_model.get_prompt(batch_size=1)
        assert prompt.shape[1] == 5  # no decoder half
        embeds = torch.cat([prompt, peft_model.word_embeddings(enc["input_ids"])], dim=1)
        mask = torch.cat([torch.ones(1, 5, dtype=enc["attention_mask"].dtype), enc["attention_mask"]], dim=1)
        manual_loss = model(inputs_embeds=embeds, attention_mask=mask, labels=labels).loss
        assert torch.allclose(trained_loss, manual_loss)
        generated = peft_model.generate(**enc, max_new_tokens=8, do_sample=False)
        manual = model.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=8, do_sample=False)
    assert generated.tolist() == manual.tolist()


def test_its_settings_read_a_blank_as_the_default_start_and_refuse_an_empty_text():
    assert PROMPT_TUNING.settings_without_tokenizer().prompt_init == "random"   # a bare model has no tokenizer
    assert PROMPT_TUNING.extra_source_tokens(PromptSettings(prompt_num_virtual_tokens=7)) == 7
    assert PROMPT_TUNING.describe(PromptSettings()) == "20 virtual tokens"
    with pytest.raises(ValueError, match="initial prompt text is empty"):
        PROMPT_TUNING.settings_from({"prompt_init_text": "  "})
