"""studio/store/records.py: run.json and events.jsonl are checked strictly on read, and say what is wrong."""
import json

import pytest

from studio.store.records import BadRecord, parse_event, parse_record, typed_record

GOOD = {"method": "lora", "status": "completed", "created_at": "2026-12-02T06:00:00.000001",
        "process": {"host": "h", "pid": 4242, "started": 1.5}, "steps": 30, "final_loss": 2.5,
        "metrics": {"rougeL": 0.31, "examples": 50}}


def test_a_record_the_studio_writes_reads_back_unchanged():
    assert parse_record(json.dumps(GOOD)) == GOOD


def test_keys_from_a_newer_version_are_kept():
    newer = {**GOOD, "carbon_grams": 1.2}
    assert parse_record(json.dumps(newer))["carbon_grams"] == 1.2


def test_an_old_record_keeps_its_process_under_owner_and_reads_as_process():
    old = {key: value for key, value in GOOD.items() if key != "process"}
    old["owner"] = GOOD["process"]
    record = parse_record(json.dumps(old))
    assert record["process"] == GOOD["process"] and "owner" not in record


@pytest.mark.parametrize("change,where", [
    ({"steps": "30"}, "steps"),                                # text where a number belongs: refused, not converted
    ({"name": 7}, "name"),
    ({"status": "paused"}, "status"),
    ({"process": {"host": "h", "pid": "4242", "started": 1.5}}, "process.pid"),
    ({"metrics": {"rougeL": "high"}}, "metrics.rougeL"),
])
def test_a_wrong_type_is_refused_and_the_message_names_the_key(change, where):
    with pytest.raises(BadRecord, match=rf"^{where}: "):
        parse_record(json.dumps({**GOOD, **change}))


def test_a_missing_key_and_several_problems_are_counted():
    with pytest.raises(BadRecord, match=r"^method: .*\(and 1 more\)"):
        parse_record(json.dumps({"status": "completed", "created_at": 5}))


@pytest.mark.parametrize("text,message", [("{not json", "not JSON"), ("[1, 2]", "JSON object, not list"),
                                          ("null", "JSON object, not NoneType")])
def test_text_that_is_no_record_is_refused(text, message):
    with pytest.raises(BadRecord, match=message):
        parse_record(text)


def test_step_events_need_a_numeric_step_and_loss_and_other_events_only_a_type():
    assert parse_event('{"type": "step", "step": 3, "loss": 2.5, "max_steps": 30}')["loss"] == 2.5
    assert parse_event('{"type": "validation", "anything": [1]}')["type"] == "validation"
    with pytest.raises(BadRecord, match="^loss: "):
        parse_event('{"type": "step", "step": 3}')
    with pytest.raises(BadRecord, match="^step: "):
        parse_event('{"type": "step", "step": "3", "loss": 2.5}')
    with pytest.raises(BadRecord, match="^type: "):
        parse_event('{"step": 3}')


def test_the_typed_record_reads_fields_and_writes_back_exactly_the_keys_it_was_read_with():
    written = {**GOOD, "run_id": "lora-1", "experiment": {"id": "exp-7", "seeds": [42]}, "carbon_grams": 1.2}
    record = typed_record(written)
    assert record.status == "completed" and record.steps == 30 and record.process.pid == 4242
    assert record.rouge_l == 0.31 and record.metrics.examples == 50 and record.experiment_id == "exp-7"
    assert record.carbon_grams == 1.2                       # a newer version's key stays readable
    assert record.error is None and record.name == ""       # a field never written reads as its default ...
    assert record.as_dict() == written                      # ... and is not added when the record is written out
    assert typed_record({**GOOD, "run_id": "x"}).rouge_l == 0.31
    assert typed_record({key: value for key, value in GOOD.items() if key != "metrics"}).rouge_l is None


def test_the_typed_record_is_no_dict_and_cannot_be_changed_in_place():
    record = typed_record(GOOD)
    with pytest.raises(TypeError, match="not a dict"):
        "error" in record   # noqa: B015 - a model iterates over pairs, so this would quietly be False
    with pytest.raises(TypeError):
        record["status"]    # noqa: B018
    with pytest.raises(ValueError, match="frozen"):
        record.status = "failed"


def test_a_record_of_the_wrong_shape_is_no_typed_record():
    with pytest.raises(BadRecord, match="steps"):
        typed_record({**GOOD, "steps": "30"})
    with pytest.raises(BadRecord, match="method"):
        typed_record({key: value for key, value in GOOD.items() if key != "method"})


def test_a_run_was_trained_on_a_base_when_its_folder_or_its_name_matches():
    record = typed_record({**GOOD, "base_model": "google/flan-t5-small", "base_model_path": "/cache/flan"})
    assert record.trained_on("/cache/flan", "another name")          # the same folder
    assert record.trained_on("/moved/flan", "google/flan-t5-small")  # the same model, cached elsewhere now
    assert not record.trained_on("/cache/base", "google/flan-t5-base")
