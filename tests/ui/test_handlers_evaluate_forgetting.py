"""studio/ui/handlers/evaluate.py: the Evaluate tab's forgetting probe, table and figure."""
import pytest

from studio.measure.forgetting import load_probe
from studio.store.runs import RunNotFound
from studio.ui.handlers import evaluate as he


def test_forgetting_view_table_and_figure(trained):
    studio, run_ids = trained.studio, trained.runs
    view = he.forgetting_view(studio, ["original", run_ids["lora"], run_ids["full"]])
    probe = load_probe()
    tasks = sorted({item["task"] for item in probe})
    assert sorted(view.table["Task"][: len(tasks)]) == sorted(t.replace("_", " ") for t in tasks)
    assert list(view.table["Task"][len(tasks):]) == ["All tasks: exact match", "All tasks: word F1",
                                                    "DialogSum ROUGE-L (last evaluation)"]
    assert sum(view.table["Questions"][: len(tasks)]) == len(probe)
    labels = [studio.run_label(m, width=40) for m in ("original", run_ids["lora"], run_ids["full"])]
    assert list(view.table.columns) == ["Task", "Questions", *labels]
    # The original has no change to show; each run's cells carry its change in brackets.
    assert all("(" not in cell for cell in view.table[labels[0]][:-1])
    assert all(cell.endswith(")") for cell in view.table[labels[1]][:-1])
    assert [trace.name for trace in view.figure.data] == labels
    assert len(view.figure.data[0].y) == len(tasks) and view.figure.data[0].orientation == "h"
    assert f"Asked **{len(probe)}** short questions" in view.summary


def test_forgetting_change_agrees_with_the_scores(trained):
    studio, run_ids = trained.studio, trained.runs
    result = studio.forgetting(["original", run_ids["prompt"]])
    change = result["change"][run_ids["prompt"]]["overall"]["exact_match"]
    assert change == pytest.approx(result["scores"][run_ids["prompt"]]["overall"]["exact_match"]
                                   - result["scores"]["original"]["overall"]["exact_match"])


def test_forgetting_refuses_nothing_ticked_and_gone_runs(trained):
    studio = trained.studio
    with pytest.raises(ValueError, match="Tick at least one"):
        he.forgetting_view(studio, [], None)
    with pytest.raises(RunNotFound):
        he.forgetting_view(studio, ["original", "lora-20990101-000000-gone"])


def test_a_model_that_knows_nothing_is_not_said_to_show_no_change(trained, monkeypatch):
    """The offline stand-in answers none of the questions: "shows no change" would read as "forgot nothing"."""
    studio, run_ids = trained.studio, trained.runs
    from studio.measure.forgetting import run_probe

    def nothing_right(model_ids, progress=None):
        return run_probe(lambda models, prompts, progress=None: {m: ["zebra"] * len(prompts) for m in models},
                         model_ids)

    monkeypatch.setattr(studio, "forgetting", nothing_right)
    view = he.forgetting_view(studio, ["original", run_ids["lora"]])
    assert "Forgetting cannot be measured on this model" in view.summary
    assert "shows no change" not in view.summary
    assert "No model answered" in view.figure.layout.annotations[0].text
