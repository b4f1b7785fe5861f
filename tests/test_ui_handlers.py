"""The UI's handler logic, without a browser: real Studio, tiny offline model, 3-step trainings."""
from __future__ import annotations

import math
import time
import zipfile
from types import SimpleNamespace

import pandas as pd
import pytest

from studio.config import PRESETS, Settings, TrainConfig
from studio.engine import Studio
from studio.jobs import Job
from studio.runs import RunNotFound
from studio.ui import handlers as h

TINY = dict(steps=3, batch_size=4, train_size=16)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")  # the stand-in model is built once for all tests


def make_studio(tmp_path, cache_dir) -> Studio:
    return Studio(Settings(offline=True, runs_dir=tmp_path / "runs", cache_dir=cache_dir, data="bundled"))


@pytest.fixture
def studio(tmp_path, cache_dir):
    return make_studio(tmp_path, cache_dir)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache_dir):
    """One studio with a finished run of each method, all owned by the token "alice"."""
    studio = make_studio(tmp_path_factory.mktemp("trained"), cache_dir)
    runs = {}
    for method in ("full", "lora", "prompt"):
        job = h.start_training(studio, "alice", h.TrainForm(method=method, **TINY))
        studio.jobs.wait(job.job_id, timeout=120)
        assert job.status == "completed", job.error
        runs[method] = job.run_id
    return SimpleNamespace(studio=studio, runs=runs)


def wait_until(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


# ------------------------------------------------------------------ numbers

@pytest.mark.parametrize("bad", [None, "", "abc", float("nan"), float("inf"), 1.5, True, 0, 6000])
def test_declared_whole_numbers_reject_bad_values(bad):
    with pytest.raises(ValueError):
        h.parse(TrainConfig, "steps", bad)


def test_declared_whole_numbers_accept_whole_floats_and_text():
    assert h.parse(TrainConfig, "steps", 5.0) == 5
    assert h.parse(TrainConfig, "steps", "7") == 7


def test_declared_fractions_blank_means_default_and_bad_values_are_refused():
    assert h.parse(TrainConfig, "learning_rate", "", blank=None) is None
    assert h.parse(TrainConfig, "learning_rate", None, blank=None) is None
    assert h.parse(TrainConfig, "learning_rate", " 0.01 ".strip(), blank=None) == 0.01
    for bad in ("fast", "nan", -1, 11):
        with pytest.raises(ValueError):
            h.parse(TrainConfig, "learning_rate", bad, blank=None)


# ------------------------------------------------------------------ Train tab

def test_presets_fill_the_fields():
    assert h.preset_values("quick") == PRESETS["quick"]
    assert h.preset_values("standard")["steps"] == PRESETS["standard"]["steps"]
    with pytest.raises(ValueError):
        h.preset_values("turbo")


def test_learning_rate_hint_names_the_method_default():
    assert "0.3" in h.learning_rate_hint("prompt")
    assert "0.001" in h.learning_rate_hint("lora")


def test_train_request_builds_engine_config():
    cfg, overrides = h.train_request(h.TrainForm(method="lora", steps=12.0, batch_size=4, train_size=16,
                                                 learning_rate="", lora_r=8, lora_targets=["q", "k", "v"]))
    assert isinstance(cfg, TrainConfig)
    assert (cfg.steps, cfg.batch_size, cfg.train_size, cfg.learning_rate) == (12, 4, 16, None)
    assert overrides["r"] == 8 and overrides["target_modules"] == ("q", "k", "v")
    cfg, overrides = h.train_request(h.TrainForm(method="prompt", learning_rate="0.1", prompt_tokens=8,
                                                 prompt_init="random"))
    assert cfg.learning_rate == 0.1
    assert overrides == {"num_virtual_tokens": 8, "init": "random"}


@pytest.mark.parametrize("change", [dict(steps=None), dict(steps=2.5), dict(batch_size=0), dict(seed=-1),
                                    dict(learning_rate="quick"), dict(lora_targets=[]), dict(method="qlora"),
                                    dict(lora_dropout=1.5)])
def test_bad_input_changes_nothing(studio, change):
    form = h.TrainForm(**{**dict(method="lora", **TINY), **change})
    with pytest.raises(ValueError):
        h.start_training(studio, "alice", form)
    assert studio.jobs.jobs_of("alice") == [] and studio.store.list() == []


def test_training_needs_a_session_token(studio):
    with pytest.raises(ValueError, match="loading"):
        h.start_training(studio, "", h.TrainForm(**TINY))


def fake_job(status, events=(), error=None, record=None, method="lora"):
    job = Job("job1", "lora-x", "alice", SimpleNamespace(method=method), status=status, events=list(events),
              error=error, record=record)
    job.started_at = time.time() - 20
    return job


def fake_studio(position=2, running=None):
    """Just the facade methods the Train tab's status line asks of a Studio."""
    return SimpleNamespace(queue_position=lambda job_id: position, running_job=lambda: running)


def test_job_view_queued_says_the_place_in_the_queue():
    view = h.job_view(fake_studio(position=2, running=fake_job("running", method="full")), fake_job("queued"))
    assert "You are #2 in the queue" in view.status
    assert "Full fine-tuning training is running" in view.status
    assert not view.ended


def test_job_view_running_shows_progress_time_left_and_parameters():
    events = [{"type": "params", "trainable_params": 688128, "total_params": 77649280,
               "trainable_share": 688128 / 77649280},
              {"type": "status", "status": "training", "message": "Training"},
              {"type": "step", "step": 3, "max_steps": 10, "loss": 2.5, "elapsed": 6.0, "samples_per_second": 4}]
    view = h.job_view(fake_studio(), fake_job("running", events))
    assert "LoRA is training" in view.status
    assert "Step 3 of 10 (30%)" in view.progress and "about 14 s left" in view.progress
    assert "688,128 of 77,649,280 (0.89%)" in view.params
    assert view.steps_seen == 1 and not view.ended


def test_job_view_final_messages():
    done = h.job_view(fake_studio(), fake_job("completed", record={"steps": 30, "train_seconds": 125}))
    assert done.ended and "Finished" in done.status and "2 min 05 s" in done.status
    failed = h.job_view(fake_studio(), fake_job("failed", error="Out of memory: try a smaller batch size."))
    assert failed.ended and "Failed" in failed.status and "smaller batch size" in failed.status
    stopped = h.job_view(fake_studio(), fake_job("stopped", [{"type": "step", "step": 4, "max_steps": 9,
                                                               "loss": 1.0, "elapsed": 1.0}]))
    assert "Stopped" in stopped.status and "step 4" in stopped.status
    assert h.job_view(fake_studio(), None).ended


def test_real_training_reports_finished_with_a_loss_curve(trained):
    studio = trained.studio
    job = max(studio.jobs.jobs_of("alice"), key=lambda j: j.submitted_at)
    view = h.job_view(studio, job)
    assert view.ended and view.status.startswith("**Finished:**")
    assert "Trainable parameters" in view.params
    figure = h.loss_view(studio, job)
    names = [trace.name for trace in figure.data if not trace.name.endswith(": validation")]
    assert names[0].endswith("(this run)") and len(names) == 3  # the other two methods overlaid
    validation = [trace for trace in figure.data if trace.name == f"{names[0]}: validation"]  # this run's only
    assert len(validation) == 1 and list(validation[0].x) == [TINY["steps"]]  # the Trainer checks at the end too
    assert len(figure.data[0].x) == TINY["steps"]


def test_only_the_owner_can_stop_and_a_stopped_run_is_kept(studio):
    job = h.start_training(studio, "alice", h.TrainForm(method="lora", steps=400, batch_size=4, train_size=16))
    assert h.active_job_id(studio, "alice") == job.job_id and h.active_job_id(studio, "bob") is None
    with pytest.raises(PermissionError):
        h.stop_training(studio, job.job_id, "bob")
    with pytest.raises(ValueError):
        h.stop_training(studio, None, "alice")
    wait_until(lambda: job.latest("step") is not None)
    assert "Stopping" in h.stop_training(studio, job.job_id, "alice")
    studio.jobs.wait(job.job_id, timeout=60)
    assert job.status == "stopped" and job.record["steps"] < 400
    assert "Stopped" in h.job_view(studio, job).status
    with pytest.raises(ValueError, match="already ended"):
        h.stop_training(studio, job.job_id, "alice")


# ------------------------------------------------------------------ Compare tab

def test_compare_without_runs_says_how_to_get_one(studio):
    columns = h.compare(studio, "Anna: Lunch at noon?\nBen: Sure.", {"full": h.NONE, "lora": None, "prompt": ""},
                        h.generation_settings(16, 1))
    assert [c.title for c in columns] == ["Original", "Full fine-tuning", "LoRA", "Prompt tuning"]
    assert columns[0].text and " s" in columns[0].info
    for column in columns[1:]:
        assert column.text == ""
        assert "Train one in the Train tab, or run `python -m studio prepare`" in column.info
    assert h.column_notes(studio, {"full": h.NONE, "lora": h.NONE, "prompt": h.NONE})[3].startswith(
        "No Prompt tuning run yet")


def test_compare_fills_four_columns_and_scores_against_a_reference(trained):
    studio, runs = trained.studio, trained.runs
    example = studio.data.split("test")[0]
    refs = h.references_for(example.dialogue, {"dialogue": example.dialogue, "references": example.references})
    columns = h.compare(studio, example.dialogue, runs, h.generation_settings(16, 1), refs)
    assert all(column.text for column in columns)
    assert all("ROUGE-L" in column.info for column in columns)
    assert runs["lora"] in columns[2].info  # which run made it


def test_compare_survives_a_deleted_or_mismatched_run(trained):
    studio, runs = trained.studio, trained.runs
    picks = {"full": "full-19990101-000000-dead", "lora": runs["prompt"], "prompt": runs["prompt"]}
    columns = h.compare(studio, "Hi.\nHello.", picks, h.generation_settings(8, 1))
    assert "gone" in columns[1].info and "not a LoRA run" in columns[2].info
    assert columns[3].text


def test_references_only_apply_to_the_unchanged_dialogue():
    sent = {"dialogue": "A: hi\nB: hello", "references": ["Two people greet."]}
    assert h.references_for("A: hi\nB: hello\n", sent) == ["Two people greet."]
    assert h.references_for("A: hi\nB: bye", sent) is None
    assert h.references_for("anything", None) is None


@pytest.mark.parametrize("tokens,beams", [(0, 1), (999, 1), (64, 0), (64, 2.5), (None, 1)])
def test_generation_settings_are_checked(tokens, beams):
    with pytest.raises(ValueError):
        h.generation_settings(tokens, beams)


def test_compare_refuses_an_empty_dialogue(studio):
    with pytest.raises(ValueError, match="empty"):
        h.compare(studio, "   ", {}, h.generation_settings(8, 1))


def test_sample_dialogues_come_in_the_formats_people_paste(studio):
    samples = h.example_dialogues(studio.data)
    assert len(samples) == 3
    assert samples[0][1].startswith("Anna:") and "#Person" not in samples[0][1]
    assert "#Person" not in samples[1][1] and ":" not in samples[1][1].splitlines()[0][:12]
    assert samples[2][1].startswith("#Person1#:")


def test_run_choices_newest_first_with_a_none_entry(studio, trained):
    assert h.run_choices(studio, "lora") == [("none yet: train one first", h.NONE)]
    choices = h.run_choices(trained.studio, "lora")
    assert choices[0][1] == trained.runs["lora"] and choices[-1][1] == h.NONE
    assert h.keep_or_newest(choices, "gone") == trained.runs["lora"]
    assert h.keep_or_newest(choices, h.NONE) == trained.runs["lora"]
    assert set(h.default_models(trained.studio)) == {"original", *trained.runs.values()}
    assert h.model_choices(studio) == [("Original", "original")]


# ------------------------------------------------------------------ Evaluate tab

def test_evaluation_view_has_chart_gains_outputs_and_csv(trained, tmp_path):
    studio, runs = trained.studio, trained.runs
    seen = []
    view = h.run_evaluation(studio, ["original", runs["lora"]], 3, 16, tmp_path,
                            progress=lambda done, total: seen.append((done, total)))
    assert len(view.figure.data) == 2
    assert list(view.gains["Model"]) == ["Original", studio.label(runs["lora"])]
    assert view.gains.loc[0, "ROUGE-L gain"] == "+0.0 [+0.0, +0.0]"
    assert len(view.per_example) == 3
    assert list(view.per_example.columns) == ["id", "topic", "reference", "Original", "Original ROUGE-L",
                                              "LoRA", "LoRA ROUGE-L"]
    frame = pd.read_csv(view.csv_path)
    assert len(frame) == 3 and any(c.endswith(": rouge2") for c in frame.columns)
    assert seen and seen[-1] == (6, 6)
    assert "Scored **3**" in view.summary


@pytest.mark.parametrize("refs,count", [([], 3), (["original"], 0), (["original"], 10_000), (["original"], 2.5)])
def test_evaluation_rejects_bad_requests(studio, tmp_path, refs, count):
    with pytest.raises(ValueError):
        h.run_evaluation(studio, refs, count, 16, tmp_path)


def test_evaluation_of_an_unknown_run_is_a_clear_error(studio, tmp_path):
    with pytest.raises(RunNotFound):
        h.run_evaluation(studio, ["original", "lora-19990101-000000-dead"], 2, 8, tmp_path)


# ------------------------------------------------------------------ Runs tab

def test_runs_table_formatting():
    table = h.runs_table([{"run_id": "lora-1", "name": "my lora", "method": "lora", "status": "completed",
                           "steps": 60, "train_seconds": 65.2, "trainable_params": 688128,
                           "trainable_share": 0.00886, "size_bytes": 2_831_155, "final_loss": 1.23456,
                           "metrics": {"rougeL": 0.3123}},
                          {"run_id": "full-1", "method": "full", "status": "failed"}])
    assert list(table.columns) == h.RUN_COLUMNS
    first = table.iloc[0].to_dict()
    assert first == {"Name": "my lora", "Method": "LoRA", "Status": "completed", "Steps": 60,
                     "Time": "65 s", "Trainable params": "688,128 (0.89%)", "Size on disk": "2.7 MB",
                     "Final loss": "1.235", "ROUGE-L": "31.2", "Experiment": "", "Run id": "lora-1"}
    assert table.iloc[1]["Name"] == "full-1" and table.iloc[1]["ROUGE-L"] == ""


def test_user_text_is_inert_in_markdown():
    assert h.plain("<img src=x onerror=alert(1)> **bold** [link](http://x)") == (
        "&lt;img src=x onerror=alert\\(1\\)&gt; \\*\\*bold\\*\\* \\[link\\]\\(http://x\\)")


def test_format_helpers():
    assert h.fmt_seconds(3.21) == "3.2 s" and h.fmt_seconds(4000) == "1 h 06 min"
    assert h.fmt_seconds(float("nan")) == "" and h.fmt_seconds(None) == ""
    assert h.fmt_bytes(512) == "512 B" and h.fmt_bytes(0) == ""
    assert h.fmt_score(None) == "" and h.fmt_score(math.nan) == ""


def test_rename_and_delete_only_for_the_owner(studio):
    job = h.start_training(studio, "alice", h.TrainForm(method="prompt", **TINY))
    studio.jobs.wait(job.job_id, timeout=120)
    run_id = job.run_id
    with pytest.raises(PermissionError):
        h.rename_run(studio, run_id, "mine now", "bob")
    with pytest.raises(ValueError):
        h.rename_run(studio, run_id, "   ", "alice")
    with pytest.raises(ValueError):
        h.rename_run(studio, None, "x", "alice")
    assert "short prompt" in h.rename_run(studio, run_id, "  short   prompt ", "alice")
    assert studio.store.get(run_id)["name"] == "short prompt"
    with pytest.raises(ValueError, match="sure"):
        h.delete_run(studio, run_id, "alice", confirmed=False)
    with pytest.raises(PermissionError):
        h.delete_run(studio, run_id, "bob", confirmed=True)
    assert studio.store.get(run_id)  # still there
    assert "Deleted" in h.delete_run(studio, run_id, "alice", confirmed=True)
    assert studio.store.list() == []


def test_zip_holds_the_model_and_its_record(trained, tmp_path):
    path = h.zip_run(trained.studio, trained.runs["lora"], tmp_path)
    names = zipfile.ZipFile(path).namelist()
    assert "run.json" in names and "model/adapter_config.json" in names
    assert any(n.startswith("model/") and n.endswith(".safetensors") for n in names)
    with pytest.raises(ValueError):
        h.zip_run(trained.studio, None, tmp_path)
    with pytest.raises(RunNotFound):
        h.zip_run(trained.studio, "../../etc", tmp_path)


def test_scratch_files_older_than_an_hour_are_cleared(tmp_path):
    old = h.write_scratch(tmp_path, "old", ".txt", "x")
    stamp = time.time() - 7200
    import os
    os.utime(old.parent, (stamp, stamp))
    new = h.write_scratch(tmp_path, "new", ".txt", "y")
    assert new.exists() and not old.exists()


# ------------------------------------------------------------------ Dataset tab

def test_dataset_pages_filter_and_clamp(studio):
    page = h.dataset_page(studio.data, "train", h.ALL_TOPICS, "", 1)
    assert len(page.examples) == h.PAGE_SIZE and page.pages == math.ceil(48 / h.PAGE_SIZE)
    assert page.caption.startswith("Page 1 of")
    last = h.dataset_page(studio.data, "train", None, None, 999)
    assert last.page == last.pages - 1 and last.examples
    topic = studio.data.topics("train")[0]
    filtered = h.dataset_page(studio.data, "train", topic, "", 1)
    assert filtered.examples and all(ex.topic == topic for ex in filtered.examples)
    empty = h.dataset_page(studio.data, "train", None, "zzzz-no-such-word", 1)
    assert empty.total == 0 and empty.caption == "No dialogues match."
    with pytest.raises(ValueError):
        h.dataset_page(studio.data, "train", None, "", "two")
    ex = filtered.examples[0]
    assert h.find_example(studio.data, "train", ex.id) is ex
    assert topic in h.example_title(ex)


def test_dataset_charts_count_tokens(studio):
    stats = h.DatasetStats(studio.data, studio.base.path)
    lengths, topics = stats.figures("train", h.ALL_TOPICS, "")
    assert stats.unit == "tokens" and "tokens" in lengths.layout.title.text
    assert sum(topics.data[0].x) == 48
    _, one_topic = stats.figures("train", studio.data.topics("train")[0], "")
    assert len(one_topic.data[0].y) == 1


# ------------------------------------------------------------------ the app itself

def test_build_app_has_the_five_tabs_and_named_api(studio):
    import gradio as gr

    from studio.ui import build_app

    demo = build_app(studio)
    tabs = [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]
    assert tabs == ["Dataset", "Train", "Compare", "Evaluate", "Runs"]
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert {"summarize", "train", "stop", "evaluate", "list_runs", "job_status"} <= api_names


def test_guarded_turns_user_errors_into_no_change():
    import gradio as gr

    from studio.ui.errors import guarded

    @guarded
    def bad():
        raise PermissionError("Only the session that trained this run can delete it.")

    with pytest.warns(UserWarning, match="Only the session"):  # gr.Warning outside a request just warns
        assert bad() == gr.skip()  # skips every output of the event, however many

    @guarded
    def bug():
        raise ZeroDivisionError("oops")

    with pytest.raises(gr.Error) as info:
        bug()
    assert "ZeroDivisionError" in info.value.message and "Traceback" not in info.value.message
