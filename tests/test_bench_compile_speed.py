"""bench/compile_speed.py: the model whose training step the compile benchmark times, per method."""
import torch

from bench.compile_speed import build_trainable


def _dropouts(model) -> set[float]:
    rates = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    return rates | {m.dropout for m in model.modules() if isinstance(getattr(m, "dropout", None), float)}


def test_full_fine_tuning_trains_every_weight_and_lora_only_its_adapters_all_without_dropout():
    full = build_trainable()
    assert all(p.requires_grad for p in full.parameters())
    assert _dropouts(full) == {0.0}

    lora = build_trainable("lora")
    trainable = [name for name, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    # The method's defaults (rank 16 on q and v), as the studio trains it: 688,128 values of FLAN-T5-small.
    assert sum(p.numel() for p in lora.parameters() if p.requires_grad) == 688_128
    assert _dropouts(lora) == {0.0}   # LoRA's own dropout (0.05 by default) is off too
