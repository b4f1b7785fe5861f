"""Prompt tuning: the model frozen, a few virtual tokens learned and put before every input (Lester et al., 2021).

    from studio.model.methods.prompt_tuning import PROMPT_TUNING, PromptSettings
    model = PROMPT_TUNING.build(base_model, PromptSettings(), tokenizer_path)   # starts from a real instruction
    PROMPT_TUNING.peft_config(PromptSettings(prompt_init="random"))             # no tokenizer needed

It trains the fewest values (20 x 512 on FLAN-T5-small) and needs a far higher learning rate.

The trap with T5: PEFT's seq2seq default puts virtual tokens on both the encoder and the
decoder (num_transformer_submodules=2). In training, forward() prepends the second half to
the decoder inputs, but generate() only ever prepends to the encoder: the model would be
trained with decoder tokens it never sees when summarizing, and half the trained prompt
would be dead weight. We set num_transformer_submodules=1, so the encoder prompt is all
there is and training and generation see exactly the same input. It also learns better
here: the decoder half shifts every label position during training only.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.config.declare import setting, validate_fields
from studio.model.methods.method import Method

PROMPT_INIT_TEXT = "Summarize the following conversation between two people in one or two sentences."


@dataclass
class PromptSettings:
    # 20 x 512 = 10,240 trainable values on FLAN-T5-small.
    prompt_num_virtual_tokens: int = setting(20, "soft-prompt length", name="number of virtual tokens",
                                             label="Virtual tokens", low=1, high=200, aliases=("--virtual-tokens",))
    # "text" starts from a real instruction's embeddings: it learns far faster than random.
    prompt_init: str = setting("text", "start the prompt from a text's embeddings or at random",
                               name="prompt start", label="Start the prompt from", choices=("text", "random"),
                               choice_labels=("From text", "Random"), blank="text")
    # Blank in the form: this text again.
    prompt_init_text: str = setting(PROMPT_INIT_TEXT, "the text a 'text' start begins from",
                                    name="initial prompt text", chars=500, blank=PROMPT_INIT_TEXT)

    def validate(self) -> PromptSettings:
        validate_fields(self)
        if self.prompt_init == "text" and not self.prompt_init_text.strip():
            raise ValueError("The initial prompt text is empty.")
        return self


class PromptTuning(Method):
    name = "prompt"
    label = "Prompt tuning"
    help = ("**Prompt tuning** freezes the whole model and learns only a few *virtual tokens* placed "
            "before the input. It trains the fewest values and needs a much higher learning rate.")
    learning_rate = 0.3   # soft prompts need a very high rate (Lester et al. used 0.3)
    settings = PromptSettings
    color = "#2ca02c"
    hub_tag = "prompt-tuning"
    peft_type = "PROMPT_TUNING"
    soft_prompt = True

    def describe(self, settings: PromptSettings) -> str:
        return f"{settings.prompt_num_virtual_tokens} virtual tokens"

    def settings_without_tokenizer(self) -> PromptSettings:
        return self.settings_from({"prompt_init": "random"})

    def peft_config(self, settings: PromptSettings, tokenizer_path: str | None = None):
        from peft import PromptTuningConfig, PromptTuningInit, TaskType

        from_text = settings.prompt_init == "text"
        if from_text and not tokenizer_path:
            raise ValueError("Initialising the prompt from text needs the base model's tokenizer path.")
        return PromptTuningConfig(
            task_type=TaskType.SEQ_2_SEQ_LM,
            num_virtual_tokens=settings.prompt_num_virtual_tokens,
            num_transformer_submodules=1,  # encoder only: see the module docstring
            prompt_tuning_init=PromptTuningInit.TEXT if from_text else PromptTuningInit.RANDOM,
            prompt_tuning_init_text=settings.prompt_init_text if from_text else None,
            tokenizer_name_or_path=tokenizer_path if from_text else None,
        )

    def trainable_params(self, shape, settings: PromptSettings) -> int:
        return settings.prompt_num_virtual_tokens * shape.d_model  # encoder only (see the module docstring)

    def extra_source_tokens(self, settings: PromptSettings) -> int:
        return settings.prompt_num_virtual_tokens


PROMPT_TUNING = PromptTuning()
