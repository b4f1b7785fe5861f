"""The studio's multi-reference ROUGE as an `evaluate` metric: `evaluate.load(<this folder>)`, offline.

The hub's `evaluate.load("rouge")` downloads its script and fails offline; this
module lives on disk and computes exactly what the studio reports
(studio.evaluation.rouge_table): rouge_score F1 with the stemmer, each example
scored against its best-matching reference, and with `use_aggregator=True` the
plain mean over examples (the hub metric reports a bootstrap median instead).
"""
import datasets
import evaluate

from studio.measure.evaluation import METRICS, rouge_table

_DESCRIPTION = ("ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F1 from rouge_score with the Porter stemmer; "
                "with several references per example, the best-matching one counts.")
_KWARGS_DESCRIPTION = """
Args:
    predictions: list of generated summaries.
    references: one reference string per prediction, or a list of reference strings per prediction.
    use_aggregator: True (default) for the mean over examples; False for one score per example.
Returns:
    {"rouge1": ..., "rouge2": ..., "rougeL": ..., "rougeLsum": ...}: fractions (floats, or lists of floats).
"""
_CITATION = """\
@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    publisher = "Association for Computational Linguistics",
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class StudioRouge(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS_DESCRIPTION,
            features=[datasets.Features({"predictions": datasets.Value("string"),
                                         "references": datasets.Sequence(datasets.Value("string"))}),
                      datasets.Features({"predictions": datasets.Value("string"),
                                         "references": datasets.Value("string")})],
            reference_urls=["https://github.com/google-research/google-research/tree/master/rouge"])

    def _compute(self, predictions, references, use_aggregator=True):
        reference_sets = [[ref] if isinstance(ref, str) else list(ref) for ref in references]
        table = rouge_table(list(predictions), reference_sets)
        if use_aggregator:
            return {metric: float(table[metric].mean()) for metric in METRICS}
        return {metric: [float(value) for value in table[metric]] for metric in METRICS}
