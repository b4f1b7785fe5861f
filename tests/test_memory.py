"""Memory estimates: parameter counts against real model shapes, and the estimate against a measured peak."""
import pytest
import torch
from transformers import T5Config, T5ForConditionalGeneration

from studio.model.memory import (
    FLAN_T5_PARAMS,
    FLAN_T5_SHAPES,
    T5Shape,
    measure_training_peak,
    t5_parameter_count,
    trainable_parameter_count,
    training_memory,
)
from studio.model.methods import registry
from studio.model.standin import tiny_t5_config

# The estimate must land within this factor of the measured peak (either side) on small shapes.
STATED_FACTOR = 3.0


def _config(shape: T5Shape) -> T5Config:
    return T5Config(vocab_size=shape.vocab_size, d_model=shape.d_model, d_ff=shape.d_ff, d_kv=shape.d_kv,
                    num_layers=shape.num_layers, num_heads=shape.num_heads, feed_forward_proj="gated-gelu",
                    tie_word_embeddings=False, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)


def _count(model) -> int:
    """Distinct parameters, counting the output projection once even where transformers ties it."""
    count = sum(p.numel() for p in model.parameters())
    if model.lm_head.weight is model.shared.weight:
        count += model.lm_head.weight.numel()  # FLAN-T5 checkpoints keep it separate
    return count


def test_published_flan_t5_parameter_counts():
    assert FLAN_T5_PARAMS == {"google/flan-t5-small": 76_961_152, "google/flan-t5-base": 247_577_856,
                              "google/flan-t5-large": 783_150_080}


@pytest.mark.parametrize("name", list(FLAN_T5_SHAPES))
def test_counted_layer_by_layer_equals_a_model_built_from_the_config(name):
    with torch.device("meta"):  # shapes only: no memory, no download
        model = T5ForConditionalGeneration(_config(FLAN_T5_SHAPES[name]))
    assert _count(model) == t5_parameter_count(FLAN_T5_SHAPES[name]) == FLAN_T5_PARAMS[name]
    assert T5Shape.from_config(model.config) == FLAN_T5_SHAPES[name]


@pytest.mark.parametrize("method,overrides", [("full", {}), ("lora", {}),
                                              ("lora", {"lora_r": 4, "lora_target_modules": "q,k,v,o,wi_0,wo"}),
                                              ("prompt", {"prompt_init": "random", "prompt_num_virtual_tokens": 7})])
def test_trainable_counts_equal_what_peft_trains(method, overrides):
    config = tiny_t5_config(500)
    shape = T5Shape.from_config(config)
    model = T5ForConditionalGeneration(config)
    settings = registry.method_settings(method, overrides)
    built = registry.get(method).build(model, settings)
    trainable = sum(p.numel() for p in built.parameters() if p.requires_grad)
    expected = trainable if method != "full" else _count(model)
    assert trainable_parameter_count(shape, method, settings) == expected
    assert trainable_parameter_count(shape, method, **overrides) == expected   # the same, by setting names


def test_flan_t5_small_facts():
    small = FLAN_T5_SHAPES["google/flan-t5-small"]
    assert trainable_parameter_count(small, "lora") == 688_128
    assert trainable_parameter_count(small, "prompt") == 20 * 512


def test_estimates_order_sensibly_and_read_as_a_sentence():
    small_lora = training_memory("google/flan-t5-small", "lora", 8)
    assert small_lora["text"].startswith("needs about ") and small_lora["text"].endswith(" GB")
    for name in FLAN_T5_SHAPES:
        full, lora, prompt = (training_memory(name, m, 8)["total_gb"] for m in ("full", "lora", "prompt"))
        assert full > lora and full > prompt
    assert training_memory("google/flan-t5-large", "full", 8)["total_gb"] > \
        training_memory("google/flan-t5-base", "full", 8)["total_gb"] > small_lora["total_gb"]
    assert training_memory("google/flan-t5-small", "lora", 16)["total_gb"] > small_lora["total_gb"]
    assert training_memory("google/flan-t5-small", "lora", 8, bf16=True)["weights_gb"] < small_lora["weights_gb"]
    with pytest.raises(ValueError, match="No shape known"):
        training_memory("someone/gpt", "lora")
    with pytest.raises(ValueError, match="batch size"):
        training_memory("google/flan-t5-small", "lora", 0)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_estimate_is_within_the_stated_factor_of_the_measured_peak_on_the_standin_shape(method):
    config = tiny_t5_config(2000).to_dict()
    keys = ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads",
            "feed_forward_proj", "tie_word_embeddings", "relative_attention_num_buckets")
    config = {k: config[k] for k in keys}
    measured = measure_training_peak(config, method, batch_size=8, source_tokens=128, target_tokens=32, steps=2)
    estimated = training_memory(T5Shape.from_config(T5Config(**config)), method, 8, 128, 32)["total_gb"] * 2**30
    assert measured > 0
    assert 1 / STATED_FACTOR <= estimated / measured <= STATED_FACTOR, (estimated, measured)
