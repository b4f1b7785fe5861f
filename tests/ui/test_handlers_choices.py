"""studio/ui/handlers/choices.py: which runs the dropdowns offer, newest first."""
from studio.ui import handlers as h


def test_run_choices_newest_first_with_a_none_entry(studio, trained):
    assert h.run_choices(studio, "lora") == [("none yet: train one first", h.NONE)]
    choices = h.run_choices(trained.studio, "lora")
    assert choices[0][1] == trained.runs["lora"] and choices[-1][1] == h.NONE
    assert h.keep_or_newest(choices, "gone") == trained.runs["lora"]
    assert h.keep_or_newest(choices, h.NONE) == trained.runs["lora"]
    assert set(h.default_models(trained.studio)) == {"original", *trained.runs.values()}
    assert h.model_choices(studio) == [("Original", "original")]
