"""studio/ui/formatting.py: one way to write a score, a gain, an interval and a count, everywhere."""
from studio.ui.formatting import count_text, gain_text, interval_text, points, score_text, score_with_interval
from tests.studios import a_record


def test_scores_are_points_with_one_decimal_everywhere():
    assert score_text(0.03) == "3.0"
    assert score_text(0.23456) == "23.5"
    assert score_text(1) == "100.0"
    assert score_text(None) == score_text(float("nan")) == "–"
    assert gain_text(0.012) == "+1.2"
    assert gain_text(-0.004) == "-0.4"
    assert gain_text(-0.0001) == "+0.0"  # rounds to zero: no "-0.0"
    assert interval_text(0.21, 0.26) == "21.0–26.0"
    assert interval_text(-0.01, 0.02, signed=True) == "[-1.0, +2.0]"
    assert interval_text(None, 0.2) == "–"
    assert score_with_interval(0.23, 0.21, 0.26) == "23.0 (21.0–26.0)"
    assert score_with_interval(0.23, None, None) == "23.0"
    assert points(0.123456) == 12.3
    assert count_text(1) == "1 dialogue" and count_text(3) == "3 dialogues"


def test_short_run_names_tell_experiment_runs_apart_without_the_shared_date():
    from studio.ui.formatting import short_run_name
    experiment = {"id": "exp-20261204-020806-48ab"}
    assert short_run_name(a_record("full-1", name="20261204-020806-48ab Full fine-tuning",
                                   experiment=experiment)) == "exp 020806-48ab"
    assert short_run_name(a_record("lora-20261204-175755-1148")) == "175755-1148"   # an unnamed run
    assert short_run_name(a_record("lora-20261204-175755-1148", name="my run")) == "my run"
    long = short_run_name(a_record("x", name="a LoRA run with a long name of its own"), width=18)
    assert len(long) == 18 and long.endswith("…")
    # Renamed by its owner: the name they chose stays.
    assert short_run_name(a_record("x", name="mine", experiment=experiment)) == "mine"
