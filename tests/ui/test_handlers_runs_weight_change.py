"""studio/ui/handlers/runs.py: the Runs tab's map of where a run changed the weights, in words."""
import pytest

from studio.measure.weight_change import NO_CHANGE
from studio.store.runs import RunNotFound
from studio.ui.handlers import runs as hr


def test_every_method_is_offered(trained):
    studio, run_ids = trained.studio, trained.runs
    offered = [v for _, v in hr.weight_run_choices(studio)]
    assert sorted(offered) == sorted(run_ids.values())


def test_matrix_labels_name_the_layer_from_one():
    assert hr.matrix_label("decoder.block.1.layer.1.EncDecAttention.q.weight") == "decoder 2 · cross-attn q"
    assert hr.matrix_label("encoder.block.0.layer.1.DenseReluDense.wo.weight") == "encoder 1 · feed-forward wo"
    assert hr.matrix_label("lm_head.weight") == "output head (lm_head)"
    assert hr.matrix_label("shared.weight") == "input embeddings (shared)"
    assert hr.matrix_label("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight") == \
        "decoder position bias"


def test_lora_view_shows_zeros_outside_its_targets_and_rank_at_most_r(trained):
    studio, run_id = trained.studio, trained.runs["lora"]
    view = hr.weight_change_view(studio, run_id)
    result = studio.weight_change(run_id)
    assert view.changes_weights and view.matrix == result["largest"]
    assert "target modules (v, q)" in view.note or "target modules (q, v)" in view.note
    heatmap = view.map_figure.data[0]
    assert list(heatmap.y) == result["rows"] and list(heatmap.x) == result["columns"]
    for column, *cells in zip(heatmap.x, *heatmap.z):
        projection = column.split(" ")[1]
        assert all(c is None or (c > 0) == (projection in ("q", "v")) for c in cells), column
    assert [name for _, name in view.matrix_choices] == [m["name"] for m in result["matrices"]]
    r = result["lora"]["r"]
    assert f"r = {r}" in view.values_note
    vline = [s for s in view.values_figure.layout.shapes if s.type == "line"]
    assert len(vline) == 1 and vline[0].x0 == r + 0.5
    signal = view.values_figure.data[0]
    assert len(signal.x) == result["singular_values"]["numerical_rank"] <= r


def test_another_matrix_gets_its_own_singular_values(trained):
    studio, run_ids = trained.studio, trained.runs
    untouched = "encoder.block.0.layer.1.DenseReluDense.wo.weight"
    figure, note = hr.singular_values_view(studio, run_ids["lora"], untouched)
    assert "is zero" in note and "did not change" in figure.layout.annotations[0].text.replace("<br>", " ")
    name = "decoder.block.0.layer.0.SelfAttention.k.weight"
    figure, note = hr.singular_values_view(studio, run_ids["full"], name)
    values = studio.weight_singular_values(run_ids["full"], name)
    assert "decoder 1 · self-attn k" in note and f"rank **{values['numerical_rank']}**" in note
    assert list(figure.data[0].y) == pytest.approx(values["values"][: values["numerical_rank"]])
    assert figure.layout.yaxis.type == "log"


def test_full_view_counts_every_matrix_changed(trained):
    studio, run_id = trained.studio, trained.runs["full"]
    view = hr.weight_change_view(studio, run_id)
    count = len(studio.weight_change(run_id)["matrices"])
    assert view.changes_weights and f"**{count} of {count}**" in view.note
    assert all(c is None or c > 0 for row in view.map_figure.data[0].z for c in row)
    assert not [s for s in view.values_figure.layout.shapes if s.type == "line"]   # no rank limit to mark


def test_prompt_tuning_says_it_changes_no_weight_and_points_to_the_readout(trained):
    studio, run_id = trained.studio, trained.runs["prompt"]
    view = hr.weight_change_view(studio, run_id)
    assert not view.changes_weights and view.map_figure is None and view.values_figure is None
    assert NO_CHANGE in view.note and "What prompt tuning learned" in view.note and "just above" in view.note
    assert view.matrix_choices == []


@pytest.mark.parametrize("run, matrix, error, message", [
    (None, None, ValueError, "Pick a run"),
    ("lora", ["a"], ValueError, "Pick a weight matrix"),
    ("lora", "no.such.weight", ValueError, "no weight matrix"),
    ("lora-20990101-000000-gone", None, RunNotFound, "gone"),
])
def test_bad_picks_are_refused_with_a_message(trained, run, matrix, error, message):
    studio, run_ids = trained.studio, trained.runs
    with pytest.raises(error, match=message):
        hr.weight_change_view(studio, run_ids.get(run, run), matrix)


def test_a_matrix_pick_needs_a_shown_run_and_a_matrix(trained):
    studio, run_ids = trained.studio, trained.runs
    with pytest.raises(ValueError, match="Pick a run"):
        hr.singular_values_view(studio, None, "lm_head.weight")
    with pytest.raises(ValueError, match="Pick a weight matrix"):
        hr.singular_values_view(studio, run_ids["full"], "")
    with pytest.raises(ValueError, match="changes no weight"):
        hr.singular_values_view(studio, run_ids["prompt"], "lm_head.weight")


def test_a_change_the_view_does_not_read_gets_its_note_without_the_readout_pointer(trained, monkeypatch):
    from studio.measure import weight_change
    from studio.ui.handlers.runs import READOUT_POINTER

    studio, run_ids = trained.studio, trained.runs
    monkeypatch.setattr(weight_change, "READABLE_ADAPTERS", (None,))
    view = hr.weight_change_view(studio, run_ids["lora"])
    assert not view.changes_weights and view.map_figure is None and "does not read yet" in view.note
    assert READOUT_POINTER not in view.note
    assert READOUT_POINTER in hr.weight_change_view(studio, run_ids["prompt"]).note   # a soft prompt: read above
