"""The studio's ROUGE through `evaluate.load(path)`, offline, gives the studio's own numbers."""
import os

import pytest

from studio.measure.evaluation import METRICS, rouge_table

PREDICTIONS = ["Anna and Ben will meet at five at the station.",
               "The customer wants a refund for the broken laptop.",
               "Tom is late because the bus broke down."]
REFERENCES = [["Anna and Ben agree to meet at the station at five.", "Ben will see Anna at five."],
              ["A customer asks for her money back for a laptop that does not work.",
               "The laptop is broken, so #Person1# wants a refund.", "#Person1# returns a laptop."],
              ["Tom apologizes for being late; his bus broke down."]]


@pytest.fixture(scope="module")
def studio_rouge():
    import evaluate

    from studio.measure.metrics import STUDIO_ROUGE

    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # set by conftest: nothing may come from the hub
    return evaluate.load(STUDIO_ROUGE)


def test_per_example_scores_equal_the_studios_multi_reference_rouge(studio_rouge):
    expected = rouge_table(PREDICTIONS, REFERENCES)
    got = studio_rouge.compute(predictions=PREDICTIONS, references=REFERENCES, use_aggregator=False)
    assert set(got) == set(METRICS)
    for metric in METRICS:
        assert got[metric] == pytest.approx(list(expected[metric]), abs=1e-12)
    # Best over references, not the first one: the second example matches its second reference best.
    first_only = rouge_table(PREDICTIONS[1:2], [REFERENCES[1][:1]])
    assert got["rouge1"][1] > first_only["rouge1"][0]


def test_aggregate_is_the_plain_mean_and_single_references_work(studio_rouge):
    expected = rouge_table(PREDICTIONS, REFERENCES)
    got = studio_rouge.compute(predictions=PREDICTIONS, references=REFERENCES)
    assert got == pytest.approx({metric: float(expected[metric].mean()) for metric in METRICS}, abs=1e-12)
    single = studio_rouge.compute(predictions=PREDICTIONS[2:], references=[REFERENCES[2][0]], use_aggregator=False)
    assert single["rougeL"] == pytest.approx(list(rouge_table(PREDICTIONS[2:], [REFERENCES[2]])["rougeL"]))
