"""model/methods/registry.py: the one list of methods, and the look-ups the rest of the studio uses."""
import ast
from pathlib import Path

import pytest

from studio.model.methods import registry

STUDIO = Path(__file__).resolve().parents[1] / "studio"
METHOD_MODULES = STUDIO / "model" / "methods"


def test_names_labels_and_defaults_come_from_the_method_modules():
    assert registry.NAMES[:3] == ("full", "lora", "prompt")          # the names run records and flags keep
    assert registry.LABELS["lora"] == "LoRA" and registry.label("nope") == "nope"
    assert registry.DEFAULT_NAMES == ("full", "lora", "prompt")       # what prepare and an experiment train
    assert registry.DEFAULT_TRAINING in registry.NAMES
    assert len(set(registry.NAMES)) == len(registry.NAMES)


def test_an_unknown_method_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match="Unknown method 'adapter': choose one of full, lora, prompt"):
        registry.get("adapter")
    with pytest.raises(ValueError, match="Unknown method"):
        registry.method_settings("bitfit")
    assert registry.find(["lora"]) is None and registry.find("lora") is registry.get("lora")


def test_peft_types_lead_back_to_their_method():
    for method in registry.METHODS:
        if method.peft_type:
            assert registry.by_peft_type(method.peft_type) is method
            assert registry.by_peft_type(method.peft_type.lower()) is method
    assert registry.by_peft_type("LOHA") is None
    assert registry.whole_model_method().name == "full"


def test_every_setting_name_is_unique_across_the_studio():
    from dataclasses import fields

    from studio.config.settings import EvaluationSettings, GenerationSettings, TrainConfig

    shared = {f.name for cls in (TrainConfig, GenerationSettings, EvaluationSettings) for f in fields(cls)}
    seen: set[str] = set()
    for cls in registry.settings_classes():
        names = {f.name for f in fields(cls)}
        assert not names & seen and not names & shared, cls
        seen |= names
    assert [s.field for _, s in registry.form_settings()][:2] == ["lora_r", "lora_alpha"]


def _method_name_literals(path: Path) -> list[str]:
    """String constants in a module's code (docstrings left out) that are a method's name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and node.value in registry.NAMES and id(node) not in docstrings]


def test_a_method_name_is_written_only_in_its_own_module():
    """Everything else asks the registry: a new method is its module and one line here."""
    own = {m.name: Path(type(m).__module__.replace(".", "/") + ".py").name for m in registry.METHODS}
    strays = []
    for path in sorted(STUDIO.rglob("*.py")):
        for name in _method_name_literals(path):
            if not (path.parent == METHOD_MODULES and path.name == own[name]):
                strays.append(f"{path.relative_to(STUDIO)}: {name!r}")
    assert not strays, "method names written outside their module:\n" + "\n".join(strays)
