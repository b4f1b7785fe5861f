"""studio/ui/tab_runs.py: the Runs tab's wiring: the listing, rename, delete behind "I'm sure", zip, presenter mode."""
import zipfile
from pathlib import Path

import gradio as gr
import pytest

from studio.ui import tab_runs
from studio.ui.handlers import train as ht
from tests.form_runs import trained_through_the_form
from tests.ui.one_tab import all_wired, build_tab, by_elem_id, by_label, wired


@pytest.fixture
def tab(studio, tmp_path):
    run_id = trained_through_the_form(studio, "alice", ht.TrainForm(method="lora", steps=2, batch_size=4, train_size=8))
    demo, ctx = build_tab(tab_runs, studio, tmp_path, with_tab=True)
    api = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    return demo, ctx, api, run_id


def test_the_listing_marks_the_sessions_own_runs_and_drops_a_gone_pick(tab):
    demo, _, api, run_id = tab
    table, picked = by_elem_id(demo, "runs-table"), by_elem_id(demo, "runs-picked")
    mine = api["list_runs"].fn(run_id, "alice")
    assert mine[table].set_index("Run id")["Name"][run_id].endswith("· yours")
    assert "value" not in mine[picked].constructor_args   # a pick still there is left to the page
    theirs = api["list_runs"].fn("lora-20990101-000000-gone", "bob")
    assert not theirs[table].set_index("Run id")["Name"][run_id].endswith("· yours")
    assert theirs[picked].constructor_args["value"] is None   # a gone pick is cleared


def test_only_the_owner_renames_and_the_lists_are_told(tab, studio):
    demo, ctx, api, run_id = tab
    with pytest.warns(UserWarning, match="Only the session that trained this run"):
        assert api["rename_run"].fn(run_id, "bobs now", "bob", 3) == gr.skip()
    out = api["rename_run"].fn(run_id, "anna's quick lora", "alice", 3)
    assert "Renamed" in out[by_elem_id(demo, "runs-message")] and out[by_label(demo, "New name")] == ""
    assert out[ctx.runs_version] == 4 and studio.run(run_id).name == "anna's quick lora"


def test_delete_needs_i_am_sure_then_unticks_it_and_removes_the_run(tab, studio):
    demo, ctx, api, run_id = tab
    sure = by_elem_id(demo, "runs-sure")
    with pytest.warns(UserWarning, match="first: deleting a run cannot be undone"):
        assert api["delete_run"].fn(run_id, False, "alice", 0) == gr.skip()
    assert studio.run(run_id)
    out = api["delete_run"].fn(run_id, True, "alice", 0)
    assert out[sure] is False and out[ctx.runs_version] == 1
    assert run_id not in [r.run_id for r in studio.runs()]


def test_zip_offers_a_download_of_the_run(tab):
    demo, _, api, run_id = tab
    button = api["download_run"].fn(run_id)[next(b for b in demo.blocks.values() if isinstance(b, gr.DownloadButton))]
    path = button.value["path"]    # what Gradio will serve: the file the handler wrote
    assert button.visible and zipfile.is_zipfile(path)
    assert "run.json" in zipfile.ZipFile(path).namelist() and Path(path).name in button.label


def test_presenter_mode_hides_rename_and_delete(tab):
    demo, ctx, _, _ = tab
    manage = wired(demo, ctx.presenter, "change")
    assert manage.fn(True).visible is False and manage.fn(False).visible is True


def test_an_empty_store_says_where_runs_come_from_until_one_is_saved(studio, tmp_path):
    demo, ctx = build_tab(tab_runs, studio, tmp_path, with_tab=True)
    note, listing = by_elem_id(demo, "runs-empty"), wired(demo, ctx.runs_version, "change")
    assert note.visible and "python -m studio prepare" in note.value
    assert listing.fn(None, "alice")[note].visible is True
    trained_through_the_form(studio, "alice", ht.TrainForm(method="lora", steps=2, batch_size=4, train_size=8))
    assert listing.fn(None, "alice")[note].visible is False


def test_weight_change_shows_the_map_and_a_matrix_pick_redraws_only_its_singular_values(tab, studio):
    demo, _, api, run_id = tab
    shown = api["weight_change"].fn(run_id)
    matrix, values_box = by_elem_id(demo, "weights-matrix"), by_elem_id(demo, "weights-values")
    result = studio.weight_change(run_id)
    assert shown[matrix].constructor_args["value"] == result["largest"]
    assert shown[by_elem_id(demo, "weights-map")].visible is True
    assert "LoRA added" in shown[by_elem_id(demo, "weights-note")]
    # Only a person's pick recomputes (.input): "Show" filling the dropdown does not start a second round.
    assert all_wired(demo, matrix, "change") == [] and len(all_wired(demo, matrix, "input")) == 1
    name = "encoder.block.0.layer.1.DenseReluDense.wo.weight"
    picked = api["weight_singular_values"].fn(run_id, name)
    assert set(picked) == {values_box, by_elem_id(demo, "weights-values-note")}
    assert "is zero" in picked[by_elem_id(demo, "weights-values-note")]
    # The run dropdown follows the store like the others.
    runs = by_elem_id(demo, "weights-run")
    refresh = next(fn for fn in all_wired(demo, demo, "load") if runs in fn.outputs)
    assert run_id in [v for _, v in refresh.fn(None, None).constructor_args["choices"]]
