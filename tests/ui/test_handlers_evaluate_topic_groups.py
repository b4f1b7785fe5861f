"""studio/ui/handlers/evaluate.py: ROUGE per topic group after an evaluation, small groups greyed."""
from studio.ui.handlers import evaluate as he


def test_evaluation_shows_rouge_per_topic_group(trained, tmp_path):
    studio, run_ids = trained.studio, trained.runs
    view = he.run_evaluation(studio, ["original", run_ids["lora"]], 8, 8, tmp_path)
    table, too_few = view.per_topic, view.per_topic_too_few
    assert sum(table["Dialogues"]) == 8 and len(too_few) == len(table)
    assert list(table.columns) == ["Topic group", "Dialogues", "Original ROUGE-L", "LoRA ROUGE-L"]
    for (_, row), small in zip(table.iterrows(), too_few):
        assert small == (row["Dialogues"] < 10)
        assert row["Topic group"].endswith("(too few to say)") == small
    styled = he.styled(table, too_few).to_html()
    assert styled.count("color: #9a9a9a") >= 1   # 8 dialogues: every group is too small, all greyed


def test_a_group_too_small_to_read_shows_its_mean_without_an_interval():
    from types import SimpleNamespace

    def group(name, examples, mean, low, high):
        return {"group": name, "examples": examples, "too_few": examples < 10,
                "scores": {"original": {"rougeL": {"mean": mean, "low": low, "high": high}}}}

    studio = SimpleNamespace(per_topic=lambda result: [group("Jobs & careers", 40, 0.3, 0.25, 0.35),
                                                       group("Shopping", 1, 0.03, 0.03, 0.03)])
    table, too_few = he.topic_group_table(studio, None, {"original": "Original"})
    assert list(table["Original ROUGE-L"]) == ["30.0 [25.0, 35.0]", "3.0"]
    assert too_few == [False, True]
