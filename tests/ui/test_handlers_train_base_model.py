"""studio/ui/handlers/train.py: the base-model switch's answers and the memory line beside Start."""
import pytest

from studio.ui.handlers import train as ht


def test_the_memory_line_names_method_batch_and_base(studio):
    line = ht.memory_text(studio, "lora", "8")
    assert line.startswith("Training memory: needs about ") and "(LoRA, batch size 8, on " in line
    assert studio.base.name in line


def test_a_bad_batch_size_leaves_the_line_empty_and_a_bad_method_is_refused(studio):
    assert ht.memory_text(studio, "full", "many") == "" and ht.memory_text(studio, "full", 0) == ""
    with pytest.raises(ValueError):
        ht.memory_text(studio, "distillation", 8)


def test_switching_to_the_loaded_base_says_so_and_an_unlisted_one_is_refused(studio, monkeypatch):
    monkeypatch.setattr(studio.settings, "allow_base_switch", True)   # the operator allows switching
    assert ht.switch_base(studio, studio.settings.base_model) == f"{studio.base.name} is already loaded."
    with pytest.raises(ValueError, match="is not on this studio's list of base models"):
        ht.switch_base(studio, "<script>evil/model")
