"""studio/service/engine.py, several allowed base models: a switch loads one and frees the other; memory per base."""
import gc
import shutil
import weakref

import pytest

from studio.config.settings import Settings, TrainConfig
from studio.model.standin import STANDIN_NAME
from studio.service.engine import Studio


@pytest.fixture
def two_bases(tmp_path, cache_dir):
    first, second = tmp_path / "base-a", tmp_path / "base-b"
    shutil.copytree(cache_dir / STANDIN_NAME, first)
    shutil.copytree(cache_dir / STANDIN_NAME, second)
    settings = Settings.from_env(env={"STUDIO_ALLOWED_MODELS": f"{first},{second}", "STUDIO_ALLOW_BASE_SWITCH": "1"},
                                 base_model=str(first),
                                 offline=True, data="bundled", runs_dir=tmp_path / "runs", cache_dir=cache_dir)
    return Studio(settings), str(first), str(second)


def test_switching_loads_the_new_base_and_frees_the_old_one(two_bases):
    studio, first, second = two_bases
    assert studio.base_choices() == [first, second]
    studio.summarize(["original"], "Anna: Hi.\nBen: Hello.")
    old_model = weakref.ref(studio.pool.base())
    assert "already loaded" in studio.switch_base(first)
    assert old_model() is not None

    message = studio.switch_base(second)
    assert "Loaded" in message and studio.base.path == second and studio.settings.base_model == second
    assert studio.base_choices() == [second, first]
    gc.collect()
    assert old_model() is None  # nothing keeps the old base alive
    assert studio.pool.loaded()["base"] is False  # the new one loads when first used
    assert studio.summarize(["original"], "Anna: Hi.\nBen: Hello.")[0].text is not None


def test_switching_is_refused_for_unlisted_models_and_while_a_training_is_active(two_bases):
    studio, first, second = two_bases
    with pytest.raises(ValueError, match="not on this studio's list"):
        studio.switch_base("google/flan-t5-xxl")
    job = studio.submit_training("lora", TrainConfig(steps=200, batch_size=4, train_size=16), owner="me")
    try:
        with pytest.raises(ValueError, match="training is queued or running"):
            studio.switch_base(second)
        assert studio.base.path == first
    finally:
        studio.stop_job(job.job_id, "me")
        studio.wait_job(job.job_id)
    studio.switch_base(second)
    assert studio.base.path == second


def test_memory_estimate_follows_the_base_method_and_batch(two_bases):
    studio, _, _ = two_bases
    small, big = studio.memory_estimate("lora", 2), studio.memory_estimate("lora", 32)
    assert small["text"].startswith("needs about ") and big["total_gb"] > small["total_gb"]
    assert studio.memory_estimate("full", 2)["total_gb"] > small["total_gb"]
    with pytest.raises(ValueError):
        studio.memory_estimate("lora", 0)


def test_the_train_tab_offers_the_switch_only_with_several_bases_and_shows_the_estimate(two_bases, studio):
    from studio.ui.app import build_app
    from studio.ui.handlers import train as ht

    several, _, second = two_bases
    page = str(build_app(several).get_config_file())
    assert "base-switch" in page and "needs about" in page
    assert "base-switch" not in str(build_app(studio).get_config_file())
    assert ht.memory_text(several, "full", 4).startswith("Training memory: needs about")
    assert ht.memory_text(several, "full", "many") == ""
    assert "Loaded" in ht.switch_base(several, second)


def test_after_a_switch_the_header_and_a_new_pages_picker_name_the_loaded_base(two_bases):
    from studio.ui.app import build_app

    studio, first, second = two_bases
    demo = build_app(studio)
    blocks = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    header, picker = blocks["studio-header"], blocks["base-model"]
    switch = next(fn for fn in demo.fns.values() if fn.api_name == "switch_base")
    bumped = switch.fn(second, "lora", 3)
    assert 4 in bumped.values()                           # the runs version moves on: lists and header redraw
    redraws = [fn for fn in demo.fns.values() if header in fn.outputs]
    assert redraws and all(second in fn.fn() and first not in fn.fn() for fn in redraws)
    loads = [fn for fn in demo.fns.values() if picker in fn.outputs and fn.api_name != "switch_base"]
    [loaded] = [fn.fn()[picker] for fn in loads]
    assert loaded.value == second                         # a page opened now shows the loaded base


def test_presets_fit_the_base_model_size():
    from studio.config.settings import PRESETS, presets_for
    from studio.model.memory import FLAN_T5_SHAPES, t5_parameter_count

    def quick(name):
        return presets_for(t5_parameter_count(FLAN_T5_SHAPES[name]))["quick"]

    assert quick("google/flan-t5-small") == PRESETS["quick"]
    assert quick("google/flan-t5-base") == {**PRESETS["quick"], "batch_size": 2}
    assert quick("google/flan-t5-large") == {**PRESETS["quick"], "batch_size": 1}
    assert presets_for(None) == PRESETS and presets_for(10**6)["standard"] == PRESETS["standard"]
    huge = presets_for(10**11)
    assert all(p["batch_size"] == 1 and p["steps"] == PRESETS[n]["steps"] for n, p in huge.items())


def test_the_train_tab_offers_the_loaded_bases_presets_and_a_switch_resets_the_form_to_them(two_bases,
                                                                                            monkeypatch):
    from studio.ui.app import build_app
    from studio.ui.handlers.train import preset_info, preset_values

    studio, _, second = two_bases
    assert preset_values(studio, "quick") == studio.presets()["quick"]
    assert "quick: 30 steps × batch 8" in preset_info(studio)
    demo = build_app(studio)
    # The second base is, say, FLAN-T5-base in size: its presets halve and halve the batch again.
    monkeypatch.setattr(studio, "presets", lambda: {"quick": {"steps": 30, "batch_size": 2, "train_size": 400},
                                                    "standard": {"steps": 150, "batch_size": 2,
                                                                 "train_size": 2000}})
    switch = next(fn for fn in demo.fns.values() if fn.api_name == "switch_base")
    out = switch.fn(second, "lora", 0)
    values = {getattr(c, "label", None): v for c, v in out.items() if isinstance(v, int)}
    assert values.get("Batch size") == 2 and values.get("Steps") == 30
    assert any("batch 2" in str(getattr(v, "info", "")) for v in out.values())


def test_a_page_opened_after_a_switch_starts_from_the_new_bases_quick_preset(two_bases, monkeypatch):
    """The form's numbers were built for the first base; once the new page knows its owner (the
    reattach step), it shows the loaded base's quick preset, unless that owner has a training to get back."""
    import gradio as gr

    from studio.ui.app import build_app

    studio, _, second = two_bases
    demo = build_app(studio)
    [reattach] = [fn for fn in demo.fns.values() if "_wire_reattach" in getattr(fn.fn, "__qualname__", "")]

    def numbers(out):
        return {getattr(c, "label", None): v for c, v in out.items() if isinstance(v, (int, float))}

    assert reattach.fn("nobody-yet") == gr.skip()   # no switch: the built form stays as it is
    smaller = {"quick": {"steps": 30, "batch_size": 2, "train_size": 400},
               "standard": {"steps": 150, "batch_size": 2, "train_size": 2000}}
    monkeypatch.setattr(studio, "presets", lambda: smaller)
    next(fn for fn in demo.fns.values() if fn.api_name == "switch_base").fn(second, "lora", 0)

    fresh = numbers(reattach.fn("a-new-visitor"))
    assert fresh["Batch size"] == 2 and fresh["Steps"] == 30 and fresh["Training subset size"] == 400

    # Someone with a training under way gets that training's own form back instead.
    job = studio.submit_training("prompt", TrainConfig(steps=2, batch_size=3, train_size=16), owner="ann")
    try:
        mine = numbers(reattach.fn("ann"))
        assert mine["Batch size"] == 3 and mine["Steps"] == 2
    finally:
        studio.jobs.wait(job.job_id, timeout=600)


def test_a_base_models_config_is_read_once_not_on_every_form_change(two_bases, monkeypatch):
    """The memory line and the presets ask for the base's shape on every change of the Train form."""
    import transformers

    studio, _, second = two_bases
    reads = []
    real = transformers.AutoConfig.from_pretrained
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained",
                        lambda path, **kw: reads.append(path) or real(path, **kw))
    first_estimate = studio.memory_estimate("lora", 8)
    assert studio.memory_estimate("lora", 8) == first_estimate and studio.presets() == studio.presets()
    assert len(reads) == 1
    studio.switch_base(second)
    studio.memory_estimate("full", 4), studio.presets()
    assert reads[1:] == [second]    # the new base's config, once


def test_the_switch_is_the_operators_hidden_and_refused_unless_allowed(tmp_path, cache_dir):
    # /switch_base from an anonymous session once succeeded even in presenter mode.
    import dataclasses

    from studio.ui.app import build_app
    from studio.ui.handlers import train as ht

    first, second = tmp_path / "base-a", tmp_path / "base-b"
    shutil.copytree(cache_dir / STANDIN_NAME, first)
    shutil.copytree(cache_dir / STANDIN_NAME, second)
    settings = Settings.from_env(env={"STUDIO_ALLOWED_MODELS": f"{first},{second}"}, base_model=str(first),
                                 offline=True, data="bundled", runs_dir=tmp_path / "runs", cache_dir=cache_dir)
    studio = Studio(settings)
    assert "base-switch" not in str(build_app(studio).get_config_file())
    with pytest.raises(PermissionError, match="operator's choice"):
        ht.switch_base(studio, str(second))
    studio.settings = dataclasses.replace(studio.settings, allow_base_switch=True, presenter=True)
    with pytest.raises(PermissionError, match="Presenter mode"):
        ht.switch_base(studio, str(second))
    assert studio.base.path == str(first)


def test_a_switch_back_to_the_starting_base_works_offline_on_the_stand_in(tmp_path, cache_dir):
    # After a switch, going back to the default once failed offline (an explicit base rules out
    # the stand-in), so only a restart recovered.
    other = tmp_path / "base-b"
    shutil.copytree(cache_dir / STANDIN_NAME, other)
    settings = Settings.from_env(env={"STUDIO_ALLOWED_MODELS": f"google/flan-t5-small,{other}"}, offline=True,
                                 data="bundled", runs_dir=tmp_path / "runs", cache_dir=cache_dir)
    studio = Studio(settings)
    assert studio.base.is_standin
    studio.switch_base(str(other))
    assert studio.base.path == str(other)
    assert "Loaded" in studio.switch_base("google/flan-t5-small")
    assert studio.base.is_standin and studio.settings.base_model == "google/flan-t5-small"


def test_a_training_asked_for_during_a_switch_is_refused_not_queued_on_the_old_base(two_bases, monkeypatch):
    """The switch checked "no training active", then took a moment to resolve the new base: a training
    queued in that moment was asked for on one base and ran on another."""
    import threading

    import studio.service.engine as engine_module

    studio, first, second = two_bases
    resolving, go_on = threading.Event(), threading.Event()
    resolve = engine_module.resolve_base_model

    def slow_resolve(settings):
        resolving.set()
        go_on.wait()
        return resolve(settings)

    monkeypatch.setattr(engine_module, "resolve_base_model", slow_resolve)
    switch = threading.Thread(target=studio.switch_base, args=(second,))
    switch.start()
    resolving.wait()
    outcome = {}

    def ask_for_a_training():
        try:
            outcome["job"] = studio.submit_training("lora", TrainConfig(steps=2, batch_size=4, train_size=16),
                                                    owner="me")
        except ValueError as exc:
            outcome["refused"] = str(exc)

    asked = threading.Event()
    make_spec = studio.make_spec

    def spec_made(*args, **kwargs):   # made after the request read which base is loaded
        try:
            return make_spec(*args, **kwargs)
        finally:
            asked.set()

    monkeypatch.setattr(studio, "make_spec", spec_made)
    asking = threading.Thread(target=ask_for_a_training)
    asking.start()
    asked.wait()
    go_on.set()
    switch.join()
    asking.join()
    assert studio.base.path == second
    assert "job" not in outcome and "switched" in outcome["refused"] and studio.jobs.active() == []
