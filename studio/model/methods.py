"""The three ways to adapt the base model, each built from its settings dataclass.

    model = build_method_model("lora", base_model, LoraSettings(), tokenizer_path)
    report = parameter_report(model)   # {"trainable_params": ..., "total_params": ..., "trainable_share": ...}

`full` trains every weight of (a copy of) the base. `lora` and `prompt` wrap the
base in a PEFT model whose adapter folder is standard (PeftModel.from_pretrained
loads it anywhere).

Prompt tuning and T5, the trap: PEFT's seq2seq default puts virtual tokens on
both the encoder and the decoder (num_transformer_submodules=2). In training,
forward() prepends the second half to the decoder inputs, but generate() only
ever prepends to the encoder: the model would be trained with decoder tokens it
never sees when summarizing, and half the trained prompt would be dead weight.
We set num_transformer_submodules=1, so the encoder prompt is all there is and
training and generation see exactly the same input. It also learns better here:
the decoder half shifts every label position during training only.
"""
from __future__ import annotations

from peft import LoraConfig, PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model

from studio.config.settings import FullSettings, LoraSettings, PromptSettings


def build_method_model(method: str, base_model, settings, tokenizer_path: str | None = None):
    """Return a trainable model for `method`; `base_model` is wrapped or modified in place."""
    if method == "full":
        assert isinstance(settings, FullSettings)
        for param in base_model.parameters():
            param.requires_grad_(True)
        return base_model
    if method == "lora":
        assert isinstance(settings, LoraSettings)
        return get_peft_model(base_model, lora_config(settings))
    if method == "prompt":
        assert isinstance(settings, PromptSettings)
        return get_peft_model(base_model, prompt_config(settings, tokenizer_path))
    raise ValueError(f"Unknown method {method!r}.")


def lora_config(settings: LoraSettings) -> LoraConfig:
    return LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=settings.r, lora_alpha=settings.alpha,
                      lora_dropout=settings.dropout, target_modules=list(settings.target_modules),
                      bias="none")


def prompt_config(settings: PromptSettings, tokenizer_path: str | None) -> PromptTuningConfig:
    from_text = settings.init == "text"
    if from_text and not tokenizer_path:
        raise ValueError("Initialising the prompt from text needs the base model's tokenizer path.")
    return PromptTuningConfig(
        task_type=TaskType.SEQ_2_SEQ_LM,
        num_virtual_tokens=settings.num_virtual_tokens,
        num_transformer_submodules=1,  # encoder only: see the module docstring
        prompt_tuning_init=PromptTuningInit.TEXT if from_text else PromptTuningInit.RANDOM,
        prompt_tuning_init_text=settings.init_text if from_text else None,
        tokenizer_name_or_path=tokenizer_path if from_text else None,
    )


def parameter_report(model) -> dict:
    """Trainable and total parameters; for PEFT models the total includes the frozen base."""
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
    else:
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
    return {"trainable_params": int(trainable), "total_params": int(total),
            "trainable_share": trainable / total if total else 0.0}
