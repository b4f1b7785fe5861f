"""How much memory a training run needs, estimated from the base model's shape before it starts.

    estimate = training_memory("google/flan-t5-base", "lora", batch_size=8)
    estimate["total_gb"], estimate["text"]        # 2.1, "needs about 2.1 GB"
    training_memory("google/flan-t5-base", "lora", 8, lora_r=64)   # a method's settings, by their names
    t5_parameter_count(FLAN_T5_SHAPES["google/flan-t5-small"])   # 76,961,152

The estimate adds up what training holds at its peak:
- weights: every parameter, fp32 (4 bytes), or bf16 (2 bytes) for the frozen base of an
  adapter method when bf16 is on (training.prepare_model loads it that way);
- gradients (4 bytes) and AdamW's two moments (8 bytes) for the trainable parameters only;
- activations kept for the backward pass: batch x tokens x layers x (a few d_model- and
  d_ff-wide tensors) plus the attention scores (heads x tokens per token), and the logits
  over the vocabulary (a 32k-wide row per target token, kept three times: logits, softmax,
  its gradient). Adapter methods still keep activations: the gradient flows back
  through the frozen layers to reach the adapter or the prompt.
What a method trains, and any positions it adds to the input, its own module says
(Method.trainable_params and extra_source_tokens, studio/model/methods/).
The activation factors were fitted loosely to measured peaks on this machine (see
docs/benchmark.md, "Memory estimates"); the tests hold the estimate to within a
stated factor of a measurement on small shapes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from studio.model.methods import registry

GB = 1024 ** 3


@dataclass(frozen=True)
class T5Shape:
    d_model: int
    d_ff: int
    num_layers: int            # encoder layers; the decoder has as many
    num_heads: int
    d_kv: int = 64
    vocab_size: int = 32128
    relative_attention_num_buckets: int = 32
    tied_lm_head: bool = False  # FLAN-T5 keeps a separate output projection

    @classmethod
    def from_config(cls, config) -> T5Shape:
        # The head counts as separate, as in FLAN-T5's checkpoints: transformers 5 reports configs built
        # in code as tied, and the studio unties them (offline.untie_lm_head).
        return cls(config.d_model, config.d_ff, config.num_layers, config.num_heads, config.d_kv,
                   config.vocab_size, config.relative_attention_num_buckets)

    @property
    def inner(self) -> int:
        return self.num_heads * self.d_kv

    @property
    def total_params(self) -> int:
        return t5_parameter_count(self)


# The published FLAN-T5 architectures (gated-GELU feed-forward: two input projections).
FLAN_T5_SHAPES = {
    "google/flan-t5-small": T5Shape(d_model=512, d_ff=1024, num_layers=8, num_heads=6),
    "google/flan-t5-base": T5Shape(d_model=768, d_ff=2048, num_layers=12, num_heads=12),
    "google/flan-t5-large": T5Shape(d_model=1024, d_ff=2816, num_layers=24, num_heads=16),
}


def t5_parameter_count(shape: T5Shape) -> int:
    """Parameters of a gated-GELU T5 (T5 v1.1 / FLAN-T5) with this shape, counted layer by layer."""
    d, inner, ff = shape.d_model, shape.inner, shape.d_ff
    attention = 4 * d * inner                 # q, k, v, o; T5 has no biases
    feed_forward = 3 * d * ff                 # wi_0, wi_1, wo
    encoder_layer = attention + feed_forward + 2 * d          # two layer norms (scale only)
    decoder_layer = 2 * attention + feed_forward + 3 * d      # self + cross attention
    position_bias = shape.relative_attention_num_buckets * shape.num_heads  # first layer of each stack
    embeddings = shape.vocab_size * d
    lm_head = 0 if shape.tied_lm_head else shape.vocab_size * d
    return (embeddings + lm_head + shape.num_layers * (encoder_layer + decoder_layer)
            + 2 * position_bias + 2 * d)      # plus each stack's final layer norm


FLAN_T5_PARAMS = {name: t5_parameter_count(shape) for name, shape in FLAN_T5_SHAPES.items()}


def trainable_parameter_count(shape: T5Shape, method: str, settings=None, **overrides) -> int:
    """What `method` trains on a T5 of this shape, with `settings` (its settings object) or its defaults
    changed by `overrides` (its settings' field names: lora_r=8)."""
    found = registry.get(method)
    return found.trainable_params(shape, settings if settings is not None else found.settings_from(overrides))


# Activation bytes kept per token and layer, in units of d_model- and d_ff-wide fp32 tensors,
# and per attention score. Fitted loosely to measured peaks (docs/benchmark.md).
ACT_D_TENSORS = 12
ACT_FF_TENSORS = 4
ACT_SCORE_TENSORS = 3
LOGIT_COPIES = 3
# Allocator slack and temporary copies during optimizer steps, as a share and a fixed amount
# (autograd bookkeeping, allocator arenas): the fixed part matters only for tiny models.
OVERHEAD = 1.15
FIXED_OVERHEAD_BYTES = 64 * 2**20


def training_memory(base, method: str, batch_size: int = 8, source_tokens: int = 256, target_tokens: int = 64,
                    bf16: bool = False, settings=None, **overrides) -> dict:
    """Estimated peak memory of training `method` on `base` (a FLAN-T5 name or a T5Shape), with `settings`
    (the method's settings object) or its defaults changed by `overrides` (field names: lora_r=8).

    source/target_tokens are a batch's padded lengths: DialogSum dialogues are ~190 tokens on average
    with length-grouped batches, summaries ~30; the defaults leave room for longer batches.
    """
    shape = FLAN_T5_SHAPES.get(base) if isinstance(base, str) else base
    if shape is None:
        raise ValueError(f"No shape known for {base!r}; known: {', '.join(FLAN_T5_SHAPES)}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("The batch size must be a whole number of at least 1.")
    found = registry.get(method)
    settings = settings if settings is not None else found.settings_from(overrides)
    total = t5_parameter_count(shape)
    trainable = found.trainable_params(shape, settings)
    frozen = total - trainable
    weight_bytes = trainable * 4 + frozen * (2 if bf16 and not found.whole_model else 4)
    optimizer_bytes = trainable * (4 + 8)      # gradient + AdamW exp_avg and exp_avg_sq
    act_bytes = 2 if bf16 else 4
    source_tokens += found.extra_source_tokens(settings)
    per_token_layer = ACT_D_TENSORS * shape.d_model + ACT_FF_TENSORS * shape.d_ff
    encoder = batch_size * source_tokens * shape.num_layers * (
        per_token_layer + ACT_SCORE_TENSORS * shape.num_heads * source_tokens)
    decoder = batch_size * target_tokens * shape.num_layers * (
        per_token_layer * 1.5 + ACT_SCORE_TENSORS * shape.num_heads * (target_tokens + source_tokens))
    logits = batch_size * target_tokens * shape.vocab_size * LOGIT_COPIES * 4  # the loss runs in fp32
    activation_bytes = (encoder + decoder) * act_bytes + logits
    peak = (weight_bytes + optimizer_bytes + activation_bytes) * OVERHEAD + FIXED_OVERHEAD_BYTES
    gb = peak / GB
    return {"base_model": base if isinstance(base, str) else "custom", "method": method, "batch_size": batch_size,
            "total_params": total, "trainable_params": trainable,
            "weights_gb": round(weight_bytes / GB, 3), "optimizer_gb": round(optimizer_bytes / GB, 3),
            "activations_gb": round(activation_bytes / GB, 3), "total_gb": round(gb, 2),
            "text": f"needs about {_round_up(gb)} GB"}


def _round_up(gb: float) -> str:
    """One decimal below 10 GB, whole numbers above; never rounded down (an estimate should not promise)."""
    return f"{math.ceil(gb * 10) / 10:.1f}" if gb < 10 else f"{math.ceil(gb)}"


# --------------------------------------------------------------------------- measuring it

def measure_training_peak(config_kwargs: dict, method: str, batch_size: int, source_tokens: int,
                          target_tokens: int, steps: int = 3) -> int:
    """Peak resident memory added by training a randomly initialised T5 a few steps, in bytes.

    Runs in a fresh (spawned) process so nothing this process allocated counts: the peak RSS
    (ru_maxrss) after training minus the RSS once torch and transformers are imported.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_measure_in_child, (config_kwargs, method, batch_size, source_tokens, target_tokens,
                                              steps))


def _measure_in_child(config_kwargs, method, batch_size, source_tokens, target_tokens, steps) -> int:
    import resource

    import psutil
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    from studio.model.standin import untie_lm_head

    torch.set_num_threads(1)
    # The lifetime peak may come from start-up (a spawned child unpickles and imports its parent's
    # modules): reset Linux's high-water mark here, so the peak read after training is training's own.
    baseline = psutil.Process().memory_info().rss
    _reset_peak_rss()
    torch.manual_seed(0)
    config = T5Config(**{"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, **config_kwargs})
    model = T5ForConditionalGeneration(config)
    if not config.tie_word_embeddings:
        model = untie_lm_head(model)  # as FLAN-T5: transformers ties the head when building from a config
    found = registry.get(method)
    model = found.build(model, found.settings_without_tokenizer())  # no tokenizer in here: a bare model
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    vocab = config_kwargs["vocab_size"]
    for _ in range(steps):
        inputs = torch.randint(3, vocab, (batch_size, source_tokens))
        labels = torch.randint(3, vocab, (batch_size, target_tokens))
        loss = model(input_ids=inputs, attention_mask=torch.ones_like(inputs), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    peak = _peak_rss() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    return max(0, peak - baseline)


def _reset_peak_rss() -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+); elsewhere a no-op."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_rss() -> int:
    """VmHWM from /proc/self/status in bytes, or 0 where there is no such file."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
