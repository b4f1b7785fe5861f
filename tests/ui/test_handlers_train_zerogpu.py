"""studio/ui/handlers/train.py, ZeroGPU execution on the CPU: the Train event streams loss points
through zerogpu.train_on_gpu (a no-op decorator off ZeroGPU), and Compare / Evaluate go through zerogpu's functions."""
import pytest

from studio.config.settings import Settings
from studio.service.zerogpu import GpuTimeError
from studio.ui.handlers.train import TrainForm, train_stream
from tests.studios import offline_studio


@pytest.fixture
def gpu_studio(tmp_path, cache_dir, monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)  # the decorator stays a no-op here
    return offline_studio(tmp_path / "runs", cache_dir, env={"STUDIO_EXECUTION": "zerogpu"})


def test_the_mode_is_a_setting_and_automatic_on_zerogpu():
    assert Settings.from_env(env={}).execution == "queue"
    assert Settings.from_env(env={"SPACES_ZERO_GPU": "true"}).execution == "zerogpu"
    assert Settings.from_env(env={"SPACES_ZERO_GPU": "1", "STUDIO_EXECUTION": "queue"}).execution == "queue"
    with pytest.raises(ValueError, match="STUDIO_EXECUTION"):
        Settings.from_env(env={"STUDIO_EXECUTION": "cluster"})


def test_train_event_streams_loss_points_and_the_run_is_complete_when_it_ends(gpu_studio, monkeypatch):
    calls = []
    from studio.service import zerogpu

    real = zerogpu.train_on_gpu
    monkeypatch.setattr(zerogpu, "train_on_gpu", lambda request: calls.append(request) or real(request))
    form = TrainForm(method="lora", steps=3, batch_size=2, train_size=8, name="on the gpu")
    views = list(train_stream(gpu_studio, "session-1", form))
    assert len(calls) == 1 and calls[0].train.steps == 3  # through zerogpu, not the queue
    assert gpu_studio.jobs.active() == [] and gpu_studio.jobs.jobs_of("session-1") == []
    steps, last = views[:-1], views[-1]
    assert [v.status.split(",")[0] for v in steps] == [f"Training on the GPU: step {i}/3" for i in (1, 2, 3)]
    assert last.ended and "finished" in last.status and not any(v.ended for v in steps)
    record = gpu_studio.run(last.run_id)
    assert record.status == "completed" and record.steps == 3 and record.name == "on the gpu"
    assert gpu_studio.loadable_run(last.run_id)
    gpu_studio.rename_run(last.run_id, "mine", "session-1")  # the session that trained it owns it
    with pytest.raises(PermissionError):
        gpu_studio.delete_run(last.run_id, "session-2")


def test_a_budget_that_cannot_fit_is_refused_before_anything_is_written(gpu_studio, monkeypatch):
    monkeypatch.setattr(gpu_studio.settings, "zerogpu_max_seconds", 30)  # STUDIO_ZEROGPU_MAX_SECONDS=30
    with pytest.raises(GpuTimeError, match="at most"):
        list(train_stream(gpu_studio, "s", TrainForm(method="full", steps=5000, batch_size=64, train_size=100)))
    assert gpu_studio.runs() == []


def test_compare_and_evaluate_go_through_zerogpu(gpu_studio, monkeypatch):
    from studio.service import zerogpu

    list(train_stream(gpu_studio, "s", TrainForm(method="prompt", steps=2, batch_size=2, train_size=8)))
    run_id = gpu_studio.runs()[0].run_id
    used = []
    for name in ("summarize_on_gpu", "evaluate_on_gpu"):
        real = getattr(zerogpu, name)
        monkeypatch.setattr(zerogpu, name, lambda request, real=real, name=name: used.append(name) or real(request))
    summaries = gpu_studio.summarize(["original", run_id], "Anna: Hi.\nBen: Hello, Anna.")
    assert [s.model for s in summaries] == ["original", run_id] and all(isinstance(s.text, str) for s in summaries)
    result = gpu_studio.evaluate(["original", run_id], limit=2)
    assert used == ["summarize_on_gpu", "evaluate_on_gpu"]
    assert result.examples == 2 and set(result.models) == {"original", run_id}
    assert gpu_studio.run(run_id).metrics.examples == 2  # remembered as on the queue path


def test_the_train_tabs_start_event_streams_in_zerogpu_mode(gpu_studio):
    import inspect

    from studio.ui.app import build_app

    demo = build_app(gpu_studio)
    start = next(f for f in demo.fns.values() if f.api_name == "train").fn
    assert inspect.isgeneratorfunction(start)
    fields = {"method": "lora", "steps": 2, "batch_size": 2, "train_size": 8, "learning_rate": "", "seed": 1,
              "name": "", "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "lora_target_modules": ["q", "v"],
              "prompt_num_virtual_tokens": 20, "prompt_init": "text", "prompt_init_text": ""}
    outputs = list(start(owner="a" * 32, version=3, **fields))
    statuses = [next(v for k, v in out.items() if isinstance(v, str) and v.startswith(("Training", "**")))
                for out in outputs]
    assert statuses[0].startswith("Training on the GPU: step 1/2") and "finished" in statuses[-1]
    assert 4 in outputs[-1].values()  # runs_version bumped once the run is on disk
    assert len(gpu_studio.runs()) == 1 and gpu_studio.runs()[0].status == "completed"


def test_stop_in_zerogpu_mode_closes_the_stream_and_the_stopped_run_stays_the_sessions(gpu_studio):
    from studio.ui.app import build_app

    demo = build_app(gpu_studio)
    start = next(key for key, f in demo.fns.items() if f.api_name == "train")
    stop_button = next(b for b in demo.blocks.values() if getattr(b, "value", None) == "Stop")
    on_stop = {key for key, f in demo.fns.items() if any(t[0] == stop_button._id for t in f.targets)}
    cancelling = [f for f in demo.fns.values() if start in (f.cancels or [])]
    # Stop cancels the streaming Start event (there is no queued job to stop on ZeroGPU).
    assert cancelling and all(f.trigger_after in on_stop or set(f.targets) & {(stop_button._id, "click")}
                              for f in cancelling)
    assert not any(f.api_name == "stop" for f in demo.fns.values())

    # Cancelling closes the event's generator: the training stops and is saved before the close returns.
    stream = train_stream(gpu_studio, "session-1", TrainForm(method="lora", steps=200, batch_size=2, train_size=8))
    first = next(stream)
    assert first.status.startswith("Training on the GPU: step 1/200")
    stream.close()
    [record] = gpu_studio.runs()
    assert record.status == "stopped" and 1 <= record.steps < 200 and gpu_studio.loadable_run(record.run_id)
    gpu_studio.rename_run(record.run_id, "stopped early", "session-1")   # the owner from its first record on
    with pytest.raises(PermissionError):
        gpu_studio.delete_run(record.run_id, "session-2")
