"""(IA)³: the model frozen, learned vectors that rescale a few of its activations (Liu et al., 2022).

    from studio.model.methods.ia3 import IA3, IA3Settings
    model = IA3.build(base_model, IA3Settings())    # a PeftModel: one scaling vector per rescaled projection
    IA3.describe(IA3Settings())                     # "rescales k, v and wo"

"Infused Adapter by Inhibiting and Amplifying Inner Activations", the method the T-Few paper
evaluated on T5 (T0): each targeted projection's activations are multiplied, element by
element, by a learned vector that starts at 1. As in the paper, the keys and values of every
attention block (k, v: the projection's output is rescaled) and the feed-forward's inner
activations (the input of wo) are rescaled; PEFT calls the projections whose input is
rescaled "feedforward_modules". On FLAN-T5-small that trains 34,816 values, about 0.05%:
fewer than LoRA, more than prompt tuning. Runs are PEFT adapters (`IA3Config`), kept on the
model pool's shared base beside LoRA's; the pool switches one method's layers off while the
other generates.

An optional method: offered everywhere (Train tab, CLI, API, Compare, Evaluate, Hub), and in
a fair experiment when ticked, but not among the three the studio trains by default.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.config.declare import setting, validate_fields
from studio.model.methods.method import Method, check_module_names

IA3_TARGETS = ("q", "k", "v", "o", "wi_0", "wi_1", "wo")  # T5's attention and feed-forward projections
# The projection fed by the feed-forward's inner activations: rescaled at its input, as the paper does.
INPUT_SCALED = ("wo",)


@dataclass
class IA3Settings:
    # The paper's choice for T5: keys, values and the feed-forward's inner activations.
    ia3_target_modules: tuple[str, ...] = setting(
        ("k", "v", "wo"), "comma-separated module names whose activations are rescaled, e.g. k,v,wo",
        name="(IA)³ target modules", label="Rescaled modules", options=IA3_TARGETS,
        info="k, v: an attention block's keys and values; wo: the feed-forward's inner activations "
             "(its input); q, o, wi_0, wi_1 at their output")

    def validate(self) -> IA3Settings:
        check_module_names(self.ia3_target_modules, none="(IA)³ needs at least one module to rescale.",
                           kind="an (IA)³ target module", example="k, v, wo")
        return validate_fields(self)


class IA3Method(Method):
    name = "ia3"
    label = "(IA)³"
    help = ("**(IA)³** freezes the model and learns one scaling vector for each of a few activations (keys, "
            "values and the feed-forward's inner layer). It trains the fewest values of the adapters, and its "
            "runs are the smallest on disk.")
    # The T-Few paper trained (IA)³ with a rate of 3e-3. The vectors start at 1 and every step of AdamW
    # moves them by about the rate, so a short run rescales by up to a few tenths.
    learning_rate = 3e-3
    settings = IA3Settings
    color = "#ff7f0e"
    hub_tag = "ia3"
    peft_type = "IA3"
    by_default = False   # offered beside the three the studio compares by default

    def describe(self, settings: IA3Settings) -> str:
        names = settings.ia3_target_modules
        return "rescales " + (f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0])

    def peft_config(self, settings: IA3Settings, tokenizer_path: str | None = None):
        from peft import IA3Config, TaskType

        targets = list(settings.ia3_target_modules)
        return IA3Config(task_type=TaskType.SEQ_2_SEQ_LM, target_modules=targets,
                         feedforward_modules=[t for t in targets if t in INPUT_SCALED])

    def trainable_params(self, shape, settings: IA3Settings) -> int:
        # One value per output feature of a rescaled projection, or per input feature of an input-scaled
        # one (wo: d_ff). Attention projections sit in 3 blocks per layer (encoder self-attention, decoder
        # self- and cross-attention), feed-forward ones in 2.
        per_attention = {"q": shape.inner, "k": shape.inner, "v": shape.inner, "o": shape.d_model}
        per_ff = {"wi_0": shape.d_ff, "wi_1": shape.d_ff, "wo": shape.d_ff}
        targets = settings.ia3_target_modules
        return sum(per_attention.get(t, 0) for t in targets) * 3 * shape.num_layers + \
            sum(per_ff.get(t, 0) for t in targets) * 2 * shape.num_layers


IA3 = IA3Method()
