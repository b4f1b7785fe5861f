"""studio/ui/handlers/evaluate.py: the Evaluate tab's chart, gains table, CSV and scratch files."""
import time

import pandas as pd
import pytest

from studio.store.runs import RunNotFound
from studio.ui.handlers import evaluate as he


def test_evaluation_view_has_chart_gains_outputs_and_csv(trained, tmp_path):
    studio, runs = trained.studio, trained.runs
    seen = []
    view = he.run_evaluation(studio, ["original", runs["lora"]], 3, 16, tmp_path,
                             progress=lambda done, total: seen.append((done, total)))
    assert len(view.figure.data) == 2
    assert list(view.gains["Model"]) == ["Original", studio.run_label(runs["lora"])]
    assert view.gains.loc[0, "ROUGE-L gain"] == "baseline"          # not "+0.0 [+0.0, +0.0]"
    assert len(view.per_example) == 3
    assert list(view.per_example.columns) == ["id", "topic", "references", "Original", "Original ROUGE-L",
                                              "LoRA", "LoRA ROUGE-L"]
    frame = pd.read_csv(view.csv_path)
    assert len(frame) == 3 and any(c.endswith(": rouge2") for c in frame.columns)
    assert seen and seen[-1] == (6, 6)
    assert "Scored **3**" in view.summary


def test_evaluation_view_shows_corpus_bleu_beside_rouge(trained, tmp_path):
    import sacrebleu

    studio, runs = trained.studio, trained.runs
    view = he.run_evaluation(studio, ["original", runs["lora"]], 4, 16, tmp_path)
    assert list(view.figure.data[0].y) == ["ROUGE-1", "ROUGE-2", "ROUGE-L", "BLEU"]
    assert "corpus BLEU" in view.figure.layout.title.text
    # The chart's BLEU bar is sacrebleu's corpus BLEU of the summaries shown, against every reference.
    examples = studio.data.split("test")[:4]
    width = max(len(ex.references) for ex in examples)
    streams = [[ex.references[i] if i < len(ex.references) else None for ex in examples] for i in range(width)]
    expected = sacrebleu.corpus_bleu(list(view.per_example["LoRA"]), streams).score
    assert view.figure.data[1].x[3] == pytest.approx(round(expected, 1))   # the chart rounds to 0.1
    assert {"BLEU", "BLEU gain"} <= set(view.gains.columns)
    assert view.gains.loc[0, "BLEU gain"] == "baseline"                # the original: what gains are measured against
    assert view.gains.loc[1, "BLEU"] == round(expected, 1)
    assert "BLEU" in view.summary


@pytest.mark.parametrize("refs,count", [([], 3), (["original"], 0), (["original"], 10_000), (["original"], 2.5)])
def test_evaluation_rejects_bad_requests(studio, tmp_path, refs, count):
    with pytest.raises(ValueError):
        he.run_evaluation(studio, refs, count, 16, tmp_path)


def test_evaluation_of_an_unknown_run_is_a_clear_error(studio, tmp_path):
    with pytest.raises(RunNotFound):
        he.run_evaluation(studio, ["original", "lora-19990101-000000-dead"], 2, 8, tmp_path)


def test_scratch_files_older_than_an_hour_are_cleared(tmp_path):
    old = he.write_scratch(tmp_path, "old", ".txt", "x")
    stamp = time.time() - 7200
    import os
    os.utime(old.parent, (stamp, stamp))
    new = he.write_scratch(tmp_path, "new", ".txt", "y")
    assert new.exists() and not old.exists()


def test_the_gains_table_never_writes_minus_zero():
    import pandas as pd

    from studio.ui.handlers.evaluate import gains_table

    gains = pd.DataFrame([{"model": "LoRA", "metric": "rougeL", "score": 0.31, "gain": -0.0004,
                           "gain_low": -0.0004, "gain_high": 0.0003},
                          {"model": "Full", "metric": "rougeL", "score": 0.35, "gain": 0.021,
                           "gain_low": -0.012, "gain_high": 0.038}])
    table = gains_table(gains)
    assert list(table["ROUGE-L gain"]) == ["+0.0 [+0.0, +0.0]", "+2.1 [-1.2, +3.8]"]
