"""model/methods/full_tuning.py: every weight trains, and a run keeps a whole model with its tokenizer."""
from bench.model import build_flan_t5_small_random
from studio.model.memory import FLAN_T5_SHAPES
from studio.model.methods.full_tuning import FULL_TUNING, FullSettings
from studio.model.methods.method import parameter_report


def test_full_model_matches_flan_t5_small_count():
    report = parameter_report(FULL_TUNING.build(build_flan_t5_small_random(), FullSettings()))
    assert report["trainable_params"] == report["total_params"] == 76_961_152


def test_it_trains_the_base_itself_and_saves_a_whole_model(tmp_path):
    assert FULL_TUNING.whole_model and FULL_TUNING.peft_type is None
    assert FULL_TUNING.trainable_params(FLAN_T5_SHAPES["google/flan-t5-small"], FullSettings()) == 76_961_152
    saved = []

    class Saves:
        def __init__(self, what):
            self.what = what

        def save_pretrained(self, folder):
            saved.append((self.what, folder))

    FULL_TUNING.save(Saves("model"), Saves("tokenizer"), tmp_path)
    assert saved == [("model", tmp_path), ("tokenizer", tmp_path)]   # transformers loads it on its own
