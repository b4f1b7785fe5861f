"""`python -m studio score` (studio/cli/evaluation.py; evaluate and summarize run in test_cli_training.py
on its runs), in this process."""
import pytest

from tests.conftest import as_json


def test_score_matches_reference_files(cli, tmp_path):
    (tmp_path / "p.txt").write_text("the cat sat\nhello world\n")
    (tmp_path / "r1.txt").write_text("the cat sat\ngoodbye\n")
    (tmp_path / "r2.txt").write_text("a dog\nhello world\n")
    out = as_json(cli("score", "--predictions", str(tmp_path / "p.txt"), "--references", str(tmp_path / "r1.txt"),
                      str(tmp_path / "r2.txt"), "--json"))
    assert out["n"] == 2 and out["rouge1"] == 1.0 and out["intervals"]["rouge1"] == [1.0, 1.0]
    single = as_json(cli("score", "--predictions", str(tmp_path / "p.txt"), "--references",
                         str(tmp_path / "r1.txt"), "--json"))
    assert single["rouge1"] == pytest.approx(0.5)


def test_score_reports_sacrebleu_corpus_bleu_beside_rouge(cli, tmp_path):
    import sacrebleu

    predictions = ["Tom is buying a red bike for his daughter .", "They agree to meet at the library at 3 pm .",
                   "The doctor tells Anna to rest for a week ."]
    first = ["Tom buys his daughter a red bike .", "They will meet at the library at three .",
             "The doctor tells Anna to rest ."]
    second = ["Tom is buying a bicycle for his daughter 's birthday .", "They meet in the library at 3 pm .",
              "Anna should stay home for a week ."]
    for name, lines in (("p", predictions), ("r1", first), ("r2", second)):
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n")
    out = as_json(cli("score", "--predictions", str(tmp_path / "p.txt"), "--references", str(tmp_path / "r1.txt"),
                      str(tmp_path / "r2.txt"), "--json"))
    expected = sacrebleu.corpus_bleu(predictions, [first, second]).score / 100
    assert out["bleu"] == pytest.approx(expected, abs=1e-12) and 0 < out["bleu"] < 1   # a fraction, like ROUGE
    low, high = out["intervals"]["bleu"]
    assert 0 <= low <= out["bleu"] <= high <= 1
    assert {"rouge1", "rouge2", "rougeL", "rougeLsum"} <= set(out)   # the ROUGE keys stay
    text = cli("score", "--predictions", str(tmp_path / "p.txt"), "--references", str(tmp_path / "r1.txt")).stdout
    assert any(line.startswith("bleu") for line in text.splitlines())
