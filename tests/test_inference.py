"""The model pool: one base, adapters that never leak into each other, right model for each run."""
import pytest
from peft import PeftModel

from studio.generate.inference import ORIGINAL, GenerationSettings, ModelPool
from studio.model.base_model import load_base
from studio.service.fairshare import current_turn
from studio.store.runs import RunNotFound

GEN = GenerationSettings(max_new_tokens=12)


@pytest.fixture(scope="module")
def dialogues(trained):
    studio, _ = trained
    return [ex.dialogue for ex in studio.data.split("test")[:4]]


def fresh_pool(studio):
    return ModelPool(studio.base, studio.store, turn_of=current_turn)  # as the studio builds it


def test_three_methods_differ_from_each_other_and_the_original(trained, dialogues):
    studio, runs = trained
    refs = [ORIGINAL, runs["full"], runs["lora"], runs["prompt"]]
    out = fresh_pool(studio).summarize(refs, dialogues, GEN)
    outputs = {ref: tuple(out[ref].summaries) for ref in refs}
    assert len(set(outputs.values())) == 4, outputs
    assert all(len(out[ref].summaries) == len(dialogues) and out[ref].seconds > 0 for ref in refs)


def test_each_output_matches_a_model_loaded_on_its_own(trained, dialogues):
    """Whatever was loaded before, every ref generates exactly what its model alone generates."""
    studio, runs = trained
    shared = fresh_pool(studio).summarize([runs["lora"], runs["prompt"], ORIGINAL, runs["full"], runs["lora"]],
                                          dialogues, GEN)
    for ref in (ORIGINAL, runs["lora"], runs["prompt"], runs["full"]):
        alone = fresh_pool(studio).summarize([ref], dialogues, GEN)[ref].summaries
        assert shared[ref].summaries == alone, ref


def test_order_of_loading_does_not_change_outputs(trained, dialogues):
    studio, runs = trained
    a = fresh_pool(studio).summarize([ORIGINAL, runs["prompt"], runs["lora"]], dialogues, GEN)
    b = fresh_pool(studio).summarize([runs["lora"], runs["prompt"], ORIGINAL], dialogues, GEN)
    for ref in a:
        assert a[ref].summaries == b[ref].summaries


def test_one_copy_of_the_base_weights(trained, dialogues):
    studio, runs = trained
    pool = fresh_pool(studio)
    pool.summarize([ORIGINAL, runs["lora"], runs["prompt"]], dialogues[:1], GEN)
    base = pool.base()
    lora_base = pool._wrappers.get("lora").get_base_model()
    prompt_base = pool._wrappers.get("prompt").get_base_model()
    assert lora_base is base and prompt_base is base
    assert pool.loaded()["lora"] == [runs["lora"]] and pool.loaded()["prompt"] == [runs["prompt"]]


def test_adapter_folders_load_with_plain_peft(trained, dialogues):
    studio, runs = trained
    for method in ("lora", "prompt"):
        model, tokenizer = load_base(studio.base.path)
        peft_model = PeftModel.from_pretrained(model, str(studio.store.model_dir(runs[method])))
        enc = tokenizer(["Summarize the following conversation.\n\n" + dialogues[0] + "\n\nSummary: "],
                        return_tensors="pt")
        direct = tokenizer.batch_decode(peft_model.generate(**enc, max_new_tokens=12, do_sample=False),
                                        skip_special_tokens=True)[0].strip()
        assert direct == fresh_pool(studio).summarize([runs[method]], dialogues[:1], GEN)[runs[method]].summaries[0]


def test_batching_and_sorting_keep_input_order(trained, dialogues):
    studio, runs = trained
    pool = fresh_pool(studio)
    batched = pool.summarize([runs["lora"]], dialogues, GenerationSettings(max_new_tokens=12, batch_size=3))
    single = [pool.summarize([runs["lora"]], [d], GEN)[runs["lora"]].summaries[0] for d in dialogues]
    assert batched[runs["lora"]].summaries == single


def test_full_runs_are_capped_least_recently_used(trained, dialogues):
    from studio.config.settings import TrainConfig
    from studio.model.methods import registry
    from studio.train.training import TrainSpec, train_run

    studio, runs = trained
    second = train_run(TrainSpec("full", TrainConfig(steps=1, batch_size=2, train_size=2),
                                 registry.method_settings("full")), studio.store, studio.base, studio.data).run_id
    try:
        pool = ModelPool(studio.base, studio.store, max_full=1)
        pool.summarize([runs["full"]], dialogues[:1], GEN)
        assert pool.loaded()["full"] == [runs["full"]]
        pool.summarize([second], dialogues[:1], GEN)
        assert pool.loaded()["full"] == [second]
    finally:
        studio.store.delete(second)


def test_forgetting_a_run_never_waits_for_someone_elses_generation(trained, dialogues):
    """A delete once hung for as long as another person's evaluation held the pool (267 s in a review);
    now the run is dropped as soon as that generation lets go, and the delete returns at once."""
    import threading

    studio, runs = trained
    pool = fresh_pool(studio)
    pool.summarize([runs["full"]], dialogues[:1], GEN)
    assert pool.loaded()["full"] == [runs["full"]]
    holding, let_go = threading.Event(), threading.Event()

    def a_long_generation():
        with pool._lock:
            holding.set()
            let_go.wait()

    holder = threading.Thread(target=a_long_generation)
    holder.start()
    holding.wait()
    forgetting = threading.Thread(target=pool.forget, args=(runs["full"],))
    forgetting.start()
    # Not a speed check: a forget that waited for the pool would still be waiting when this gives up.
    forgetting.join(timeout=600)
    still_held = holder.is_alive()
    let_go.set()
    holder.join()
    assert not forgetting.is_alive() and still_held
    pool.summarize([ORIGINAL], dialogues[:1], GEN)      # the next generation drops what was forgotten
    assert pool.loaded()["full"] == []


def test_a_full_run_nobody_asks_for_is_let_go_and_comes_back_the_same(trained, dialogues):
    """The app once kept two FLAN-T5 copies loaded for ever after a busy session."""
    import time

    studio, runs = trained
    pool = ModelPool(studio.base, studio.store, full_idle_seconds=600)
    first = pool.summarize([runs["full"]], dialogues[:1], GEN)[runs["full"]].summaries
    assert pool.loaded()["full"] == [runs["full"]]
    assert pool.release_idle(now=time.monotonic() + 1) == []          # used a moment ago: kept
    assert pool.release_idle(now=time.monotonic() + 600) == [runs["full"]]
    assert pool.loaded()["full"] == [] and pool.loaded()["base"]     # the shared base stays
    again = pool.summarize([runs["full"]], dialogues[:1], GEN)[runs["full"]].summaries
    assert again == first                                            # reloaded from disk, same text


def test_the_idle_sweeper_lets_go_on_its_own_and_then_ends(trained, dialogues):

    studio, runs = trained
    pool = ModelPool(studio.base, studio.store, full_idle_seconds=1.0)
    pool.summarize([runs["full"]], dialogues[:1], GEN)
    sweeper = pool._sweeper
    assert sweeper is not None and sweeper.is_alive()
    sweeper.join(600)   # it ends once nothing is left to let go (the limit only guards a hang)
    assert not sweeper.is_alive() and pool.loaded()["full"] == []


def test_unknown_and_path_like_refs_are_refused(trained, dialogues):
    studio, _ = trained
    pool = fresh_pool(studio)
    for bad in ("lora-does-not-exist", "../../etc", "/etc/passwd"):
        with pytest.raises(RunNotFound):
            pool.summarize([bad], dialogues[:1], GEN)


@pytest.mark.parametrize("settings", [GenerationSettings(max_new_tokens=0), GenerationSettings(max_new_tokens=10**6),
                                      GenerationSettings(num_beams=-1), GenerationSettings(batch_size=0)])
def test_bad_generation_settings_are_refused(trained, dialogues, settings):
    studio, _ = trained
    with pytest.raises(ValueError):
        fresh_pool(studio).summarize([ORIGINAL], dialogues[:1], settings)


def test_concurrent_requests_get_their_own_results(trained, dialogues):
    """Two users summarizing with different models at once never see each other's outputs."""
    import threading

    studio, runs = trained
    pool = fresh_pool(studio)
    expected = {ref: fresh_pool(studio).summarize([ref], dialogues, GEN)[ref].summaries
                for ref in (ORIGINAL, runs["lora"], runs["prompt"])}
    results, errors = {}, []

    def worker(ref, key):
        try:
            results[key] = pool.summarize([ref], dialogues, GEN)[ref].summaries
        except Exception as exc:  # noqa: BLE001 - any failure in a thread is surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(ref, (ref, i)))
               for i in range(2) for ref in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for (ref, _), summaries in results.items():
        assert summaries == expected[ref], ref
    assert len(results) == 6


@pytest.mark.parametrize("beams", [1, 2])
@pytest.mark.parametrize("flooder_model", ["original", "lora", "prompt", "full"])
def test_a_summary_that_steps_aside_mid_generation_comes_out_the_same(trained, dialogues, flooder_model, beams):
    """A heavy request lets a lighter client's summary in between decoding steps; both come out as if
    each had run alone, whatever adapters the other switched on the shared base in between."""
    import threading

    from studio.service.fairshare import FairGate

    studio, runs = trained
    model_of = {"original": ORIGINAL, **runs}
    flooder_ref = model_of[flooder_model]
    victim_refs = [ref for name, ref in model_of.items() if name != flooder_model]
    settings = GenerationSettings(max_new_tokens=16, num_beams=beams)
    expected = {ref: fresh_pool(studio).summarize([ref], dialogues[:2], settings)[ref].summaries
                for ref in model_of.values()}
    pool = fresh_pool(studio)
    gate = FairGate(per_client=4, margin=0.0)
    gate.usage.add("flooder", 100.0)             # the flooder has used the models for a while
    finished, victim_results, stepped_aside = [], {}, []

    def victim():
        with gate.turn("victim"):
            for ref, result in pool.summarize(victim_refs, dialogues[:2], settings).items():
                victim_results[ref] = result.summaries
            finished.append("victim")

    victim_thread = threading.Thread(target=victim)
    with gate.turn("flooder") as turn:
        asks_gate, leaves = turn.should_step_aside, turn.step_aside

        def should_step_aside():
            if not victim_thread.is_alive() and not finished:   # first step: the victim arrives now
                victim_thread.start()
                while gate.waiting() < 1:
                    pass
            return asks_gate()

        def step_aside():
            stepped_aside.append(len(finished))
            leaves()

        turn.should_step_aside, turn.step_aside = should_step_aside, step_aside
        flooder_summaries = pool.summarize([flooder_ref], dialogues[:2], settings)[flooder_ref].summaries
        finished.append("flooder")
    victim_thread.join(120)
    assert stepped_aside == [0] and finished == ["victim", "flooder"]
    assert flooder_summaries == expected[flooder_ref]
    assert victim_results == {ref: expected[ref] for ref in victim_refs}
    # The shared modules are left as they were: every model still gives its own summaries.
    for ref in model_of.values():
        assert pool.summarize([ref], dialogues[:2], settings)[ref].summaries == expected[ref], ref


def _two_adapter_types(cache_dir):
    """A LoRA and a LoHa wrapper over one base, made as the pool makes a method's first wrapper."""
    import torch
    from peft import LoHaConfig, LoraConfig, TaskType

    from studio.generate.inference import _peft_wrapper_class, separate_adapter_settings
    from studio.model.standin import STANDIN_NAME

    base, tokenizer = load_base(str(cache_dir / STANDIN_NAME))
    wrappers = []
    for name, config in (("a", LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=2, target_modules=["q", "v"],
                                          init_lora_weights=False)),
                         ("b", LoHaConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=2, target_modules=["k", "v"],
                                          init_weights=False))):
        with separate_adapter_settings(base):
            wrappers.append(_peft_wrapper_class(config)(base, config, adapter_name=name))
    enc = tokenizer(["Summarize: Anna meets Ben."], return_tensors="pt")
    labels = tokenizer(text_target=["Anna meets Ben."], return_tensors="pt")["input_ids"]

    def loss(model):
        with torch.no_grad():
            return float(model(**enc, labels=labels).loss)
    return base, wrappers, loss


def test_two_layer_adapter_types_on_one_base_keep_their_own_adapters_and_switch_off_alone(cache_dir):
    """A second method that injects layers (LoRA's kind) must neither adopt the first's adapter list nor be
    switched off with it: generating with one runs with the other's layers off, and only those."""
    from studio.generate.inference import layers_switched_off

    base, (lora, loha), loss = _two_adapter_types(cache_dir)
    assert sorted(lora.peft_config) == ["a"] and sorted(loha.peft_config) == ["b"]
    both = loss(lora)
    with layers_switched_off(loha):
        lora_alone = loss(lora)
    with layers_switched_off(lora):
        loha_alone = loss(loha)
    with layers_switched_off(lora), layers_switched_off(loha):
        neither = loss(base)
    assert len({round(v, 6) for v in (both, lora_alone, loha_alone, neither)}) == 4
    assert loss(lora) == both   # each switched back on afterwards
