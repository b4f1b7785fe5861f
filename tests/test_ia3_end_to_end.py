"""(IA)³ through every path a method takes: the CLI, the Train tab, the API, a fair experiment (as an optional
method), Compare and Evaluate, the model pool beside LoRA and prompt tuning, and a push and pull. All on the
offline stand-in, a few steps each: what is checked is that each path carries the method, not its quality."""
import json
from pathlib import Path

import gradio as gr
import pytest
import yaml

from studio.config.settings import ORIGINAL, Settings, TrainConfig
from studio.generate.inference import GenerationSettings, ModelPool
from studio.model.hub import import_folder, pull, push
from studio.model.methods import registry
from studio.service.engine import Studio
from studio.ui import tab_train
from studio.ui.handlers import compare as hc
from studio.ui.handlers import runs as hr
from studio.ui.handlers import train as ht
from studio.ui.handlers.choices import default_models, run_choices
from studio.ui.handlers.train_experiment import ExperimentForm
from tests.fake_hub import FakeHub
from tests.form_runs import trained_through_the_form
from tests.ui.one_tab import build_tab, by_label, wired

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}
GEN = GenerationSettings(max_new_tokens=12)
DIALOGUE = "#Person1#: Shall we meet at noon?\n#Person2#: Yes, at the cafe by the station."


@pytest.fixture(scope="module")
def studio_with_runs(tmp_path_factory, cache_dir):
    """A LoRA, a prompt-tuning and an (IA)³ run, each started by the Train tab's handler as a person would.

    (IA)³ at a high rate: three steps at its own rate leave the stand-in's summaries as they were, and the
    pool's checks need every model to write something of its own."""
    studio = Studio(Settings(offline=True, runs_dir=tmp_path_factory.mktemp("ia3") / "runs", cache_dir=cache_dir,
                             data="bundled"))
    rates = {"ia3": "0.1"}
    runs = {method: trained_through_the_form(studio, "alice", ht.TrainForm(method=method, learning_rate=rates.get(
        method, ""), **TINY)) for method in ("lora", "prompt", "ia3")}
    return studio, runs


@pytest.fixture(scope="module")
def dialogues(studio_with_runs):
    studio, _ = studio_with_runs
    return [ex.dialogue for ex in studio.data.split("test")[:3]]


def test_the_cli_trains_it_with_its_own_flag(run_cli):
    code, out, err = run_cli("train", "--method", "ia3", "--steps", "2", "--batch-size", "4", "--train-size", "16",
                             "--ia3-target-modules", "k,v", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "completed" and result["method"] == "ia3" and result["run_id"].startswith("ia3-")
    record = json.loads((Path(result["run_dir"]) / "run.json").read_text())
    assert record["hyperparameters"]["ia3_target_modules"] == ["k", "v"]
    assert record["hyperparameters"]["learning_rate"] == registry.get("ia3").learning_rate
    adapter = json.loads((Path(result["run_dir"]) / "model" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "IA3" and not adapter["feedforward_modules"]   # wo not among the targets


def test_the_train_tab_offers_it_shows_its_box_and_restores_its_form(studio_with_runs, tmp_path):
    studio, runs = studio_with_runs
    demo, _ = build_tab(tab_train, studio, tmp_path)
    method = by_label(demo, "Method")
    assert ("(IA)³", "ia3") in [tuple(c) for c in method.choices]
    out = wired(demo, method, "change").fn("ia3")
    box = by_label(demo, "Rescaled modules")
    while not isinstance(box, gr.Group):   # gradio puts form widgets in a Form inside the box
        box = box.parent
    boxes = {c: v for c, v in out.items() if isinstance(c, gr.Group)}
    assert boxes[box].visible and sum(v.visible for v in boxes.values()) == 1   # its own box, shown alone
    assert "(IA)³" in out[next(c for c in out if getattr(c, "elem_id", None) == "method-help")]
    job = next(j for j in studio.jobs_of("alice") if j.run_id == runs["ia3"])
    restored = ht.form_of_job(job)
    assert restored.method == "ia3" and restored.ia3_target_modules == ["k", "v", "wo"]
    cfg, overrides = ht.train_request(ht.TrainForm(method="ia3", ia3_target_modules=["v", "wo"], **TINY))
    assert overrides == {"ia3_target_modules": ("v", "wo")}
    with pytest.raises(ValueError, match="Tick at least one"):
        ht.train_request(ht.TrainForm(method="ia3", ia3_target_modules=[], **TINY))


def test_the_api_starts_it_and_summarizes_with_it(studio_with_runs):
    from gradio_client import Client

    from bench.app_server import free_port
    from studio.ui.app import build_app

    studio, runs = studio_with_runs
    demo = build_app(studio)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        app = Client(f"http://127.0.0.1:{port}/", verbose=False, analytics_enabled=False, download_files=False,
                     httpx_kwargs={"timeout": None})
        job = app.predict(method="ia3", api_name="/start_training", **TINY)
        assert job["method"] == "ia3" and job["method_label"] == "(IA)³" and job["run_id"].startswith("ia3-")
        done = app.predict(job_id=job["job_id"], api_name="/wait_job")
        assert done["status"] == "completed", done
        out = app.predict(dialogue=DIALOGUE, ia3_run=done["run_id"], lora_run=runs["lora"], max_new_tokens=8,
                          api_name="/summaries")
        assert out["ia3"]["run_id"] == done["run_id"] and isinstance(out["ia3"]["summary"], str)
        assert out["lora"]["run_id"] == runs["lora"] and out["prompt"] is None
    finally:
        demo.close()
        studio.delete_run(job["run_id"], owner=None)


def test_compare_and_evaluate_show_it(studio_with_runs):
    studio, runs = studio_with_runs
    columns = hc.compare(studio, DIALOGUE, {"ia3": runs["ia3"], "lora": runs["lora"]}, GEN)
    titles = [c.title for c in columns]
    assert titles == ["Original", *registry.LABELS.values()]
    ia3 = columns[titles.index("(IA)³")]
    assert ia3.text and runs["ia3"] in ia3.info or studio.run_label(runs["ia3"], method=False) in ia3.info
    assert runs["ia3"] in [value for _, value in run_choices(studio, "ia3", "alice")]
    assert runs["ia3"] in default_models(studio, "alice")            # the Evaluate tab ticks it for her
    result = studio.evaluate([ORIGINAL, runs["ia3"]], limit=2, settings=GEN)
    assert set(result.scores) == {ORIGINAL, runs["ia3"]}
    assert studio.run(runs["ia3"]).metrics.examples == 2


def test_it_shares_the_base_with_lora_and_prompt_tuning_without_leaking(studio_with_runs, dialogues):
    """Each method's adapters live in a wrapper of their own over one base; LoRA's and (IA)³'s layers are both
    in it, so each must be off while the other generates: every model says what it says when loaded alone."""
    studio, runs = studio_with_runs
    models = [ORIGINAL, runs["lora"], runs["prompt"], runs["ia3"]]
    alone = {m: ModelPool(studio.base, studio.store).summarize([m], dialogues, GEN)[m].summaries for m in models}
    assert len({tuple(v) for v in alone.values()}) == 4
    for order in ([runs["ia3"], runs["lora"], ORIGINAL, runs["prompt"], runs["ia3"]],
                  [runs["lora"], runs["prompt"], runs["ia3"], ORIGINAL, runs["lora"]]):
        pool = ModelPool(studio.base, studio.store)
        for model in order:
            assert pool.summarize([model], dialogues, GEN)[model].summaries == alone[model], (order, model)
        loaded = pool.loaded()
        assert loaded["ia3"] == [runs["ia3"]] and loaded["lora"] == [runs["lora"]]   # no list holds the other's


def test_a_fair_experiment_takes_it_when_asked_and_not_by_default(studio_with_runs):
    studio, _ = studio_with_runs
    assert "ia3" not in ExperimentForm().methods
    from studio import cli

    assert "ia3" not in cli.build_parser().parse_args(["experiment"]).methods
    out = studio.run_experiment(["ia3", "lora"], TrainConfig(steps=2, batch_size=4, train_size=16), limit=2,
                                settings=GEN)
    assert out["status"] == "completed" and list(out["runs"]) == ["lora", "ia3"]   # the registry's order
    assert out["labels"][out["runs"]["ia3"]].startswith("(IA)³")
    assert set(out["scores"]) == {ORIGINAL, *out["runs"].values()}
    for run_id in out["runs"].values():
        studio.delete_run(run_id, owner=None)


def test_it_pushes_and_pulls_back_as_the_same_run(studio_with_runs, tmp_path, dialogues):
    studio, runs = studio_with_runs
    hub = FakeHub()
    result = push(studio.store, runs["ia3"], "someone/flan-ia3", client=hub, folder=tmp_path / "up")
    assert {"adapter_config.json", "adapter_model.safetensors", "run.json", "README.md"} <= set(hub.uploaded)
    assert "(IA)³ run" in hub.calls[-1][3]                               # the commit message names it
    card = yaml.safe_load(hub.uploaded["README.md"].decode().split("---\n")[1])
    assert "ia3" in card["tags"] and card["library_name"] == "peft"
    assert json.loads(hub.uploaded["adapter_config.json"])["peft_type"] == "IA3"
    record = pull("someone/flan-ia3", studio.store, studio.base, client=FakeHub(served=Path(result["folder"])))
    assert record.method == "ia3" and record.status == "completed" and record.run_id.startswith("ia3-")
    out = studio.pool.summarize([runs["ia3"], record.run_id], dialogues, GEN)
    assert out[record.run_id].summaries == out[runs["ia3"]].summaries
    studio.delete_run(record.run_id, owner=None)


def test_a_plain_peft_ia3_adapter_folder_imports_as_an_ia3_run(studio_with_runs, tmp_path):
    """Saved anywhere with save_pretrained, no run.json: the adapter's type says which method it is."""
    from peft import IA3Config, TaskType, get_peft_model

    from studio.model.base_model import load_base

    studio, _ = studio_with_runs
    model, _ = load_base(studio.base.path)
    config = IA3Config(task_type=TaskType.SEQ_2_SEQ_LM, target_modules=["k", "v", "wo"], feedforward_modules=["wo"])
    get_peft_model(model, config).save_pretrained(tmp_path / "my-ia3")
    record = import_folder(tmp_path / "my-ia3", studio.store, studio.base, origin="my-ia3")
    assert record.method == "ia3" and studio.store.is_loadable(studio.store.get(record.run_id))
    studio.delete_run(record.run_id, owner=None)


def test_the_weight_change_view_lists_it_and_says_it_does_not_read_its_change_yet(studio_with_runs):
    """Its change is a rescaling, not B A: the view reads whole models and LoRA only, and says so."""
    studio, runs = studio_with_runs
    assert runs["ia3"] in [value for _, value in hr.weight_run_choices(studio, "alice")]
    out = studio.weight_change(runs["ia3"])
    assert out["changes_weights"] is None and out["message"].startswith("(IA)³ changes the model")
    view = hr.weight_change_view(studio, runs["ia3"])
    assert view.map_figure is None and "does not read yet" in view.note
