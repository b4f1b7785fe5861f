"""`python -m studio runs`, `rename`, `delete` (studio/cli/runs.py): the run store read and changed from
the disk alone, in this process. Their refusals (unknown or malformed ids, a run still training) are in
tests/scenarios/test_store_reliability.py."""
import json
import shutil


def test_runs_rename_and_delete_say_what_they_did(trained, run_cli, tmp_path):
    studio, run_ids = trained
    run_id = run_ids["lora"]
    shutil.copytree(studio.store.root / run_id, tmp_path / "runs" / run_id)
    loss = studio.run(run_id).final_loss

    code, out, err = run_cli("runs")
    assert code == 0, err
    assert out.split() == [run_id, "lora", "completed", "loss", f"{loss:.4f}"]
    code, out, err = run_cli("rename", run_id, "the demo run")
    assert code == 0 and out == f"{run_id} is now named 'the demo run'\n", err
    code, out, err = run_cli("delete", run_id)
    assert code == 0 and out == f"deleted {run_id} (the demo run)\n", err
    code, out, err = run_cli("runs", "--json")
    assert code == 0 and json.loads(out) == {"runs": [], "skipped": []}


def test_runs_lists_what_it_could_read_and_names_what_it_skipped(trained, run_cli, tmp_path):
    studio, run_ids = trained
    shutil.copytree(studio.store.root / run_ids["prompt"], tmp_path / "runs" / run_ids["prompt"])
    broken = tmp_path / "runs" / "lora-20250101-000000-dead"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    code, out, err = run_cli("runs", "--json")
    assert code == 0, err
    listing = json.loads(out)
    assert [r["run_id"] for r in listing["runs"]] == [run_ids["prompt"]]
    assert [(p["run_id"], p["file"]) for p in listing["skipped"]] == [(broken.name, "run.json")]
    assert err.startswith(f"skipped: {broken.name}/run.json: ")   # stdout holds the JSON alone


def test_the_operator_can_delete_a_run_whose_record_is_damaged(run_cli, tmp_path):
    """`runs` names it as skipped; `delete` once refused it ("has an unreadable record") and left it there."""
    broken = tmp_path / "runs" / "lora-20250101-000000-dead"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text('{"method": "lora", "sta')   # cut short
    code, out, err = run_cli("delete", broken.name)
    assert code == 0 and out == f"deleted {broken.name} (its record could not be read)\n", err
    assert not broken.exists()
    code, out, err = run_cli("delete", broken.name)               # gone now: the usual refusal
    assert code == 2 and "No run" in err
