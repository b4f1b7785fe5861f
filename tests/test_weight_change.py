"""measure/weight_change.py: where each method changed the model, against PEFT's and transformers' own numbers."""
import json
import math
import shutil

import pytest
import torch

from studio.measure.weight_change import NO_CHANGE, base_weight_files, change_map, place, singular_values, updates
from studio.model.base_model import load_base
from studio.store.runs import RunNotFound

Q = "decoder.block.1.layer.1.EncDecAttention.q.weight"


def _relative(tuned, base, name: str) -> float:
    return float(torch.linalg.norm(tuned[name] - base[name]) / torch.linalg.norm(base[name]))


def _merged_lora(studio, run_id, folder=None):
    """The base's weights and LoRA's merged into them by PEFT itself (merge_and_unload)."""
    from peft import PeftModel

    base, _ = load_base(studio.base.path)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    merged = PeftModel.from_pretrained(base, str(folder or studio.run_dir(run_id) / "model")).merge_and_unload()
    return before, merged.state_dict()


def _lora_copy(trained, tmp_path, **config):
    """The session's LoRA adapter folder copied, its adapter_config.json changed by `config`."""
    studio, run_ids = trained
    folder = tmp_path / "adapter"
    shutil.copytree(studio.run_dir(run_ids["lora"]) / "model", folder)
    path = folder / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return folder


def test_place_names_t5_layers_and_leaves_the_rest_whole():
    assert place("encoder.block.3.layer.0.SelfAttention.q.weight") == ("encoder", 3, "self-attn q")
    assert place(Q) == ("decoder", 1, "cross-attn q")
    assert place("decoder.block.0.layer.2.DenseReluDense.wi_1.weight") == ("decoder", 0, "feed-forward wi_1")
    assert place("shared.weight") == ("other", None, "shared")
    assert place("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")[1] is None


def test_lora_changes_only_its_targets_and_stays_within_rank_r(trained):
    studio, run_ids = trained
    out = studio.weight_change(run_ids["lora"])
    targets, r = set(out["lora"]["target_modules"]), out["lora"]["r"]
    assert out["changes_weights"] and out["method"] == "lora" and out["lora"]["scaling"] == 32 / 16
    targeted = [m for m in out["matrices"] if m["name"].split(".")[-2] in targets]
    assert targeted and all(m["relative_change"] > 0 and m["trainable"] for m in targeted)
    others = [m for m in out["matrices"] if m not in targeted]
    assert others and all(m["relative_change"] == 0.0 and m["update_norm"] == 0.0 and not m["trainable"]
                          for m in others)
    # The grid is the same numbers: exactly zero outside q and v; no cross-attention in the encoder.
    for row, values in zip(out["rows"], out["grid"]):
        for column, value in zip(out["columns"], values):
            if row.startswith("encoder") and column.startswith("cross-attn"):
                assert value is None
            else:
                assert (value > 0) == (column.split(" ")[1] in targets), (row, column, value)
    assert out["largest"] in {m["name"] for m in targeted}
    # Every update B A has rank at most r; the biggest one's singular values stop after r.
    sv = out["singular_values"]
    assert sv["matrix"] == out["largest"] and sv["rank_limit"] == r
    assert 1 <= sv["numerical_rank"] <= r < len(sv["values"]) and sv["values"] == sorted(sv["values"], reverse=True)
    assert max(sv["values"][r:]) < 1e-5 * sv["values"][0]
    for m in targeted:
        assert studio.weight_singular_values(run_ids["lora"], m["name"])["numerical_rank"] <= r
    untouched = studio.weight_singular_values(run_ids["lora"], others[0]["name"])
    assert untouched["numerical_rank"] == 0 and set(untouched["values"]) == {0.0}


def test_lora_update_is_what_peft_merges_into_the_weights(trained):
    studio, run_ids = trained
    before, merged = _merged_lora(studio, run_ids["lora"])
    out = studio.weight_change(run_ids["lora"])
    for m in out["matrices"]:
        assert m["relative_change"] == pytest.approx(_relative(merged, before, m["name"]), rel=1e-3, abs=1e-7)


def test_rslora_and_alpha_pattern_scale_the_update_as_peft_does(trained, tmp_path):
    studio, _ = trained
    files = base_weight_files(studio.base.path)
    plain = tmp_path / "plain"
    folder = _lora_copy(trained, plain)
    with updates(files, folder, "lora") as source:
        before = change_map(source)
    # use_rslora: alpha / sqrt(r) instead of alpha / r, so every change grows by sqrt(r) = 4.
    rs = _lora_copy(trained, tmp_path / "rs", use_rslora=True, alpha_pattern={"EncDecAttention.q": 8})
    with updates(files, rs, "lora") as source:
        after = change_map(source)
        assert source.lora["use_rslora"] and sorted(source.lora["scaling"]) == [8 / 4, 32 / 4]
    _, peft_merged = _merged_lora(studio, None, rs)
    base = {k: v for k, v in load_base(studio.base.path)[0].state_dict().items()}
    for old, new in zip(before["matrices"], after["matrices"]):
        factor = (8 / 4) / 2 if "EncDecAttention.q" in old["name"] else 4.0
        assert new["relative_change"] == pytest.approx(factor * old["relative_change"], rel=1e-4)
        assert new["relative_change"] == pytest.approx(_relative(peft_merged, base, old["name"]), rel=1e-3, abs=1e-7)


def test_full_fine_tuning_changes_every_layer_matrix_at_full_rank(trained):
    studio, run_ids = trained
    out = studio.weight_change(run_ids["full"])
    assert out["changes_weights"] and "lora" not in out
    layers = [m for m in out["matrices"] if m["layer"] is not None]
    assert layers and all(m["relative_change"] > 0 and m["trainable"] for m in layers)
    assert all(v is None or v > 0 for values in out["grid"] for v in values)
    # The same numbers from the two models as transformers loads them.
    base, _ = load_base(studio.base.path)
    tuned, _ = load_base(str(studio.run_dir(run_ids["full"]) / "model"))
    base, tuned = base.state_dict(), tuned.state_dict()
    for m in out["matrices"]:
        assert m["relative_change"] == pytest.approx(_relative(tuned, base, m["name"]), rel=1e-4)
        assert m["base_norm"] == pytest.approx(float(torch.linalg.norm(base[m["name"]])), rel=1e-5)
    assert out["largest"] == max(out["matrices"], key=lambda m: m["relative_change"])["name"]
    # Unlike LoRA's, a full update is not confined to a few directions.
    sv = studio.weight_singular_values(run_ids["full"], Q)
    assert sv["rank_limit"] is None and sv["numerical_rank"] > 16
    expected = torch.linalg.svdvals(tuned[Q] - base[Q])
    assert sv["values"] == pytest.approx(expected.tolist(), rel=1e-3, abs=1e-7)


def test_prompt_tuning_changes_no_weight(trained):
    studio, run_ids = trained
    out = studio.weight_change(run_ids["prompt"])
    assert out == {"run_id": run_ids["prompt"], "method": "prompt", "base_model": studio.base.name,
                   "changes_weights": False, "message": NO_CHANGE}
    assert "What prompt tuning learned" in NO_CHANGE
    with pytest.raises(ValueError, match="changes no weight"):
        studio.weight_singular_values(run_ids["prompt"], Q)


def test_refusals_say_what_is_wrong(trained, tmp_path):
    studio, run_ids = trained
    with pytest.raises(RunNotFound):
        studio.weight_change("lora-20990101-000000-gone")
    with pytest.raises(ValueError, match="no weight matrix"):
        studio.weight_change(run_ids["lora"], "encoder.block.9.nothing.weight")
    files = base_weight_files(studio.base.path)
    with pytest.raises(ValueError, match="plain LoRA"), updates(files, _lora_copy(trained, tmp_path / "d",
                                                                                 use_dora=True), "lora"):
        pass
    with pytest.raises(ValueError, match="lora_alpha"), updates(files, _lora_copy(trained, tmp_path / "a",
                                                                                  lora_alpha=0), "lora"):
        pass


def test_a_run_on_another_base_is_refused(trained, monkeypatch):
    studio, run_ids = trained
    record = studio.run(run_ids["full"]).model_copy(update={"base_model": "google/flan-t5-base",
                                                            "base_model_path": "elsewhere"})
    monkeypatch.setattr(studio.store, "require_loadable", lambda run_id: record)
    with pytest.raises(ValueError, match="trained on google/flan-t5-base"):
        studio.weight_change(run_ids["full"])


def test_singular_values_count_only_what_stands_above_round_off():
    class Source:   # a known update of rank 2: singular values 3 and 2, the rest zero
        names = ["m"]

        @staticmethod
        def update(name):
            return torch.diag(torch.tensor([3.0, 2.0, 0.0, 0.0]))

        @staticmethod
        def rank_limit(name):
            return 2

    sv = singular_values(Source, "m")
    assert sv["values"] == pytest.approx([3, 2, 0, 0]) and sv["numerical_rank"] == 2
    assert sv["tolerance"] == pytest.approx(3 * 4 * torch.finfo(torch.float32).eps)


@pytest.fixture
def trained_cli(trained, run_cli):
    """The CLI on the session's trained runs."""
    studio, run_ids = trained

    def run(*args):
        return run_cli("weight-change", *args, "--runs-dir", str(studio.settings.runs_dir))

    return studio, run_ids, run


def test_cli_json_gives_the_studios_numbers(trained_cli):
    studio, run_ids, run = trained_cli
    for method in ("full", "lora", "prompt"):
        code, stdout, _ = run(run_ids[method], "--json")
        assert code == 0
        assert json.loads(stdout) == json.loads(json.dumps(studio.weight_change(run_ids[method])))
    code, stdout, _ = run(run_ids["lora"], "--matrix", Q, "--json")
    assert code == 0
    out = json.loads(stdout)
    assert out["singular_values"]["matrix"] == Q
    assert out["singular_values"] == json.loads(json.dumps(studio.weight_singular_values(run_ids["lora"], Q)))
    code, stdout, _ = run(run_ids["lora"])   # without --json: the map as a table, and the singular values
    assert code == 0 and "numerical rank" in stdout and "at most 16 by construction" in stdout


@pytest.mark.parametrize("args, words", [
    (("lora-20990101-000000-gone",), "No run"),
    (("../etc",), "not a valid run id"),
    (("@lora", "--matrix", "no.such.weight"), "no weight matrix"),
])
def test_cli_errors_are_one_line(trained_cli, args, words):
    _, run_ids, run = trained_cli
    args = tuple(run_ids["lora"] if a == "@lora" else a for a in args)
    code, stdout, err = run(*args, "--json")
    assert code == 2 and stdout == ""
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def test_relative_change_of_a_zero_base_matrix_is_left_unset(trained, tmp_path):
    """A matrix that is all zeros in the base has no size to compare with: None, never a division by zero."""
    from safetensors.torch import load_file, save_file

    studio, run_ids = trained
    files = base_weight_files(studio.base.path)
    weights = load_file(str(files[0]))
    weights[Q] = torch.zeros_like(weights[Q])
    base = tmp_path / "base"
    base.mkdir()
    save_file(weights, str(base / "model.safetensors"))
    with updates([base / "model.safetensors"], studio.run_dir(run_ids["full"]) / "model", "full") as source:
        found = change_map(source)
    entry = next(m for m in found["matrices"] if m["name"] == Q)
    assert entry["relative_change"] is None and entry["update_norm"] > 0 and not math.isnan(entry["update_norm"])
    assert found["largest"] != Q


def test_a_change_the_view_does_not_read_is_said_not_drawn(trained, monkeypatch):
    """An adapter type without a reader here (as if LoRA had none) gets a note, not a wrong map."""
    from studio.measure import weight_change

    studio, run_ids = trained
    monkeypatch.setattr(weight_change, "READABLE_ADAPTERS", (None,))
    out = studio.weight_change(run_ids["lora"])
    assert out["changes_weights"] is None and "matrices" not in out
    assert out["message"].startswith("LoRA changes the model in a way this view does not read yet")
    with pytest.raises(ValueError, match="does not read yet"):
        studio.weight_singular_values(run_ids["lora"], Q)
