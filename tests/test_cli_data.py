"""`python -m studio data` (studio/cli/data.py), in this process: see conftest's run_cli and cli."""
from tests.conftest import as_json


def test_data_reports_examples_and_references(cli):
    out = as_json(cli("data", "--json"))
    assert out["splits"]["test"] == {"examples": 16, "references": 37}
    assert out["splits"]["train"]["examples"] == out["splits"]["train"]["references"] == 48
