"""studio/ui/handlers/runs.py: the Runs tab's table of what a tuned prompt reads as."""
import pytest

from studio.measure.prompt_readout import CAVEAT
from studio.store.runs import RunNotFound
from studio.ui.handlers import runs as hr


def test_readout_table_lists_each_virtual_token(trained):
    studio, run_ids = trained.studio, trained.runs
    assert run_ids["prompt"] in [v for _, v in hr.prompt_run_choices(studio)]
    assert run_ids["lora"] not in [v for _, v in hr.prompt_run_choices(studio)]
    table = hr.readout_table(studio, run_ids["prompt"], 3)
    readout = studio.prompt_readout(run_ids["prompt"], 3)
    assert list(table.columns) == ["Virtual token", "Nearest 1", "Nearest 2", "Nearest 3"]
    assert list(table["Virtual token"]) == list(range(1, len(readout["virtual_tokens"]) + 1))
    first = readout["virtual_tokens"][0]["nearest"][0]
    assert table.iloc[0]["Nearest 1"] == f"{first['token']} ({first['cosine']:.2f})"
    assert CAVEAT in hr.CAVEAT_LINE


@pytest.mark.parametrize("run,top_k,message", [
    (None, 5, "Pick a prompt-tuning run"),
    ("prompt", 0, "1 to 50"),
    ("prompt", 2.5, "1 to 50"),
    ("lora", 5, "only prompt-tuning runs"),
])
def test_readout_refuses_bad_picks(trained, run, top_k, message):
    studio, run_ids = trained.studio, trained.runs
    with pytest.raises(ValueError, match=message):
        hr.readout_table(studio, run_ids.get(run, run), top_k)


def test_readout_of_a_missing_run_is_a_run_not_found(trained):
    studio = trained.studio
    with pytest.raises(RunNotFound):
        hr.readout_table(studio, "prompt-20990101-000000-gone", 5)


def test_the_run_list_marks_the_persons_own_runs(trained):
    """Every other run list said "· yours"; this one did not, so a person could not find their own run."""
    studio, run_ids = trained.studio, trained.runs
    label = dict((v, k) for k, v in hr.prompt_run_choices(studio, "alice"))[run_ids["prompt"]]
    assert label.endswith("· yours")
    assert not dict((v, k) for k, v in hr.prompt_run_choices(studio, "bob"))[run_ids["prompt"]].endswith("· yours")
    weights = dict((v, k) for k, v in hr.weight_run_choices(studio, "alice"))
    assert weights[run_ids["lora"]].endswith("· yours") and weights[run_ids["full"]].endswith("· yours")
    assert not any(k.endswith("· yours") for k, _ in hr.weight_run_choices(studio, "bob"))
