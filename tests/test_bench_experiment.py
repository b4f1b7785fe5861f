"""bench/experiment.py: the quick experiment's benchmark says which precision actually ran
(`python -m studio bench --only experiment --precision fp32` reaching it is test_cli_bench.py's).
The stage itself takes minutes: it runs in the benchmark, not here."""
from bench import experiment
from studio.model.hardware import pick_device, use_bf16


def test_the_precisions_used_are_read_back_from_the_runs_and_the_pool(trained):
    studio, run_ids = trained
    expected = "bf16" if use_bf16(studio.settings.precision, pick_device()) else "fp32"
    used = experiment._precisions_used(studio, run_ids)
    assert used["training_precision"] == {method: expected for method in run_ids}
    assert used["generation_precision"] == expected
