"""LoRA: the base model frozen, a low-rank update B A learned beside chosen projections (Hu et al., 2021).

    from studio.model.methods.lora import LORA, LoraSettings
    model = LORA.build(base_model, LoraSettings(lora_r=8))   # a PeftModel; the base's weights stay as they are
    LORA.describe(LoraSettings())                             # "rank 16 on q, v"

Rank 16 on T5's q and v projections trains 688,128 values of FLAN-T5-small (0.89%). Runs are
PEFT adapters (a few MB), kept on the model pool's shared base.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.config.declare import setting, validate_fields
from studio.model.methods.method import Method, check_module_names

LORA_TARGETS = ("q", "k", "v", "o", "wi_0", "wi_1", "wo")  # T5's attention and feed-forward projections


@dataclass
class LoraSettings:
    # Rank 16 on q,v trains 0.89% of FLAN-T5-small.
    lora_r: int = setting(16, "rank of the update matrices", name="LoRA rank", label="LoRA rank r", low=1, high=512)
    # alpha/r = 2 scales the update as in the LoRA paper's T5 runs.
    lora_alpha: int = setting(32, "scale of the update (alpha / r)", name="LoRA alpha", low=1, high=4096)
    # A blank box means no dropout (the form's own reading of "nothing").
    lora_dropout: float = setting(0.05, "dropout on the LoRA input; light, the runs are short", name="LoRA dropout",
                                  low=0, high=0.95, blank=0.0, step=0.05)
    lora_target_modules: tuple[str, ...] = setting(
        ("q", "v"), "comma-separated module names, e.g. q,v", name="LoRA target modules", label="Target modules",
        options=LORA_TARGETS, aliases=("--lora-targets",),
        info="q, k, v, o: attention projections; wi_0, wi_1, wo: feed-forward")

    def validate(self) -> LoraSettings:
        check_module_names(self.lora_target_modules, none="LoRA needs at least one target module.",
                           kind="a LoRA target module", example="q, v, wi_0")
        return validate_fields(self)


class Lora(Method):
    name = "lora"
    label = "LoRA"
    help = ("**LoRA** freezes the model and learns small low-rank matrices added to the attention "
            "projections. Runs are tiny on disk and train nearly as well.")
    learning_rate = 1e-3   # ~3x full tuning's: the update starts at zero and has few directions to move in
    settings = LoraSettings
    color = "#1f77b4"
    hub_tag = "lora"
    peft_type = "LORA"

    def describe(self, settings: LoraSettings) -> str:
        return f"rank {settings.lora_r} on {', '.join(settings.lora_target_modules)}"

    def peft_config(self, settings: LoraSettings, tokenizer_path: str | None = None):
        from peft import LoraConfig, TaskType

        return LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=settings.lora_r, lora_alpha=settings.lora_alpha,
                          lora_dropout=settings.lora_dropout, target_modules=list(settings.lora_target_modules),
                          bias="none")

    def trainable_params(self, shape, settings: LoraSettings) -> int:
        # Each attention block has q, k, v (d -> inner) and o (inner -> d); the encoder has one block
        # per layer, the decoder two. Feed-forward targets (wi_0, wi_1: d -> d_ff; wo) also count.
        per_block = {"q": shape.d_model + shape.inner, "k": shape.d_model + shape.inner,
                     "v": shape.d_model + shape.inner, "o": shape.inner + shape.d_model}
        per_ff = {"wi_0": shape.d_model + shape.d_ff, "wi_1": shape.d_model + shape.d_ff,
                  "wo": shape.d_ff + shape.d_model}
        attention_blocks, ff_blocks = 3 * shape.num_layers, 2 * shape.num_layers
        targets = settings.lora_target_modules
        total = sum(per_block.get(t, 0) for t in targets) * attention_blocks + \
            sum(per_ff.get(t, 0) for t in targets) * ff_blocks
        return settings.lora_r * total


LORA = Lora()
