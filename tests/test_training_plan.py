"""studio/train/training_plan.py: what a step or epoch budget means for the pairs at hand."""
from types import SimpleNamespace

from studio.config.settings import TrainConfig
from studio.train.training_plan import count_pairs, plan_training, planned_steps


def _examples(references_per_dialogue):
    return [SimpleNamespace(references=["r"] * n) for n in references_per_dialogue]


def test_a_pair_is_one_dialogue_with_one_of_its_references():
    assert count_pairs(_examples([1, 3, 1])) == 5 and count_pairs([]) == 0


def test_a_subset_larger_than_the_split_uses_every_pair_and_says_how_many_passes():
    plan = plan_training(_examples([1] * 48), TrainConfig(steps=60, batch_size=8, train_size=400))
    assert plan == {"steps": 60, "batch_size": 8, "train_size": 400, "pairs_available": 48, "pairs_used": 48,
                    "epochs": 10.0}


def test_a_smaller_subset_is_used_as_asked():
    plan = plan_training(_examples([1] * 48), TrainConfig(steps=3, batch_size=4, train_size=16))
    assert (plan["pairs_used"], plan["epochs"]) == (16, 0.75)


def test_an_epoch_budget_becomes_whole_passes_of_steps():
    # 10 pairs in batches of 4: 3 steps a pass (the last batch is short), so 1.5 passes is 5 steps.
    plan = plan_training(_examples([2] * 5), TrainConfig(steps=None, epochs=1.5, batch_size=4, train_size=None))
    assert (plan["pairs_used"], plan["steps"], plan["epochs"]) == (10, 5, 1.5)


def test_epochs_count_steps_as_the_trainer_does_whole_batches_per_pass():
    # 10 pairs in batches of 4 are 3 batches a pass (the last one short): 2 passes are 6 steps. Rounding
    # epochs x pairs / batch once (5) undercounted what the Trainer runs, so the operator's cap let it by.
    cfg = TrainConfig(steps=None, epochs=2, batch_size=4, train_size=None)
    assert planned_steps(cfg, 10) == 6 == plan_training(_examples([1] * 10), cfg)["steps"]
    assert planned_steps(TrainConfig(steps=None, epochs=2, batch_size=4, train_size=8), 10) == 4  # the subset
    assert planned_steps(TrainConfig(steps=7, batch_size=4), 10) == 7 and planned_steps(cfg, 0) == 0


def test_no_pairs_means_no_passes_rather_than_a_division_by_zero():
    assert plan_training([], TrainConfig(steps=30))["epochs"] == 0.0
    assert plan_training([], TrainConfig(steps=None, epochs=2.0))["steps"] == 0


def test_the_validation_interval_follows_the_run_length_within_its_cost():
    from studio.train.training_plan import CHECKS_PER_RUN, validation_checks, validation_interval

    # A quick 30-step run on the 8 bundled validation pairs: 7 checks, not the 2 of "every 15 steps".
    every = validation_interval(30, 8)
    assert every == 4 and validation_checks(30, every) == 7
    # DialogSum's 16 pairs cost twice as much per check: the cost bound spaces them out.
    assert validation_interval(30, 16) == 6
    # Long runs: about CHECKS_PER_RUN checks.
    assert validation_checks(1000, validation_interval(1000, 16)) == CHECKS_PER_RUN
    assert validation_interval(3, 8) == 3 and validation_interval(0, 8) == 0 and validation_interval(30, 0) == 0
