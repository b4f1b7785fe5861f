"""The Studio context: what the UI and CLI rely on."""
import pytest

from studio.config.settings import TrainConfig
from studio.generate.inference import ORIGINAL, GenerationSettings
from studio.service.owner_tokens import owner_hash
from tests.conftest import TINY_TRAIN

GEN = GenerationSettings(max_new_tokens=8)


def test_offline_studio_uses_standin_and_says_so(studio):
    assert studio.offline and studio.base.is_standin
    assert any("stand-in" in n for n in studio.notices)


def test_summarize_restores_speaker_names_and_rejects_bad_text(trained):
    studio, runs = trained
    out = studio.summarize([ORIGINAL, runs["lora"]], "Anna: Are you free at 5?\nBen: Yes.", GEN)
    assert [s.model for s in out] == [ORIGINAL, runs["lora"]]
    assert all("#Person" not in s.text for s in out)
    for bad in ("", "   ", None, "x" * 20_001):
        with pytest.raises(ValueError):
            studio.summarize([ORIGINAL], bad, GEN)


def test_weird_but_valid_text_is_summarized_as_text(trained):
    studio, _ = trained
    text = "#Person1#: <script>alert(1)</script> 😀 \u202eabc\x00\n#Person2#: مرحبا"
    (summary,) = studio.summarize([ORIGINAL], text, GEN)
    assert isinstance(summary.text, str)


def test_evaluate_records_metrics_on_runs(trained):
    studio, runs = trained
    result = studio.evaluate([ORIGINAL, runs["prompt"], runs["prompt"]], limit=3, settings=GEN)
    assert result.models == [ORIGINAL, runs["prompt"]] and result.examples == 3
    assert set(result.gains["model"]) == {"Original", studio.run_label(runs["prompt"])}
    assert len(result.per_example) == 3 and f"{studio.run_label(runs['prompt'])}: summary" in result.per_example
    kept = studio.store.get(runs["prompt"]).metrics   # this one, or a fuller one another test ran on the shared run
    assert kept.split == "test" and kept.examples >= 3
    for bad in (0, -1, 10**6, 2.5, True):
        with pytest.raises(ValueError):
            studio.evaluate([ORIGINAL], limit=bad)


def test_a_smaller_evaluation_never_replaces_a_fuller_ones_score(studio):
    """Anyone may evaluate anyone's runs: a participant's 4-dialogue check once replaced an experiment's
    fuller ROUGE-L in the Runs table, Compare's pickers and the size chart."""
    from studio.config.settings import TrainConfig

    job = studio.submit_training("lora", TrainConfig(steps=2, batch_size=4, train_size=8), owner="alice")
    studio.wait_job(job.job_id, timeout=600)
    run_id = job.run_id
    studio.evaluate([run_id], limit=5, settings=GEN)
    fuller = studio.store.get(run_id).metrics
    assert fuller.examples == 5
    studio.evaluate([run_id], limit=2, settings=GEN)
    assert studio.store.get(run_id).metrics == fuller          # kept
    studio.evaluate([run_id], limit=6, settings=GEN)
    assert studio.store.get(run_id).metrics.examples == 6      # as full or fuller: the latest


def test_only_the_training_session_may_delete_its_run(studio):
    job = studio.submit_training("lora", TrainConfig(steps=1, **TINY_TRAIN), owner="alice")
    studio.jobs.wait(job.job_id, timeout=600)
    record = studio.store.get(job.run_id)
    assert record.owner_hash == owner_hash("alice") != "alice"
    with pytest.raises(PermissionError):
        studio.delete_run(job.run_id, owner="mallory")
    assert studio.store.get(job.run_id).status == "completed"
    studio.delete_run(job.run_id, owner="alice")
    assert studio.store.list() == []


def test_submit_validates_before_queueing(studio):
    with pytest.raises(ValueError):
        studio.submit_training("lora", TrainConfig(steps=-1), owner="a")
    with pytest.raises(ValueError):
        studio.submit_training("dreambooth", TrainConfig(), owner="a")
    with pytest.raises(ValueError):
        studio.submit_training("lora", TrainConfig(steps=1), {"r": 0}, owner="a")
    assert studio.jobs.jobs_of("a") == []
