"""`evaluate`, `summarize`, `score`: models' summaries, and their ROUGE and BLEU against references.

    python -m studio evaluate --models original lora-2026... --limit 50 --json
    python -m studio summarize --model original --text "#Person1#: Hi ..."
    python -m studio score --predictions preds.txt --references refs1.txt refs2.txt --json
"""
from __future__ import annotations

from pathlib import Path

from studio.cli.command import Command, add_common, add_json_flag, studio_from
from studio.cli.errors import CliError, short_path
from studio.config.declare import add_flags, flag_values
from studio.config.settings import EvaluationSettings, GenerationSettings


def _evaluate_arguments(p) -> None:
    add_common(p)
    p.add_argument("--models", nargs="+", required=True, help="'original' and/or run ids")
    p.add_argument("--split", default="test", help="the data split to score on")
    add_flags(p, EvaluationSettings)
    add_flags(p, GenerationSettings, title="generation")


def _summarize_arguments(p) -> None:
    add_common(p)
    p.add_argument("--model", required=True, help="'original' or a run id")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the dialogue itself, one turn per line")
    src.add_argument("--file", help="a text file holding the dialogue")
    add_flags(p, GenerationSettings, title="generation")


def _score_arguments(p) -> None:
    add_json_flag(p)
    p.add_argument("--predictions", required=True, help="a text file, one summary per line")
    p.add_argument("--references", nargs="+", required=True,
                   help="one or more text files, each with one reference per line of --predictions")


def generation_settings(args) -> GenerationSettings:
    """GenerationSettings from the flags given; unset flags keep the declared defaults."""
    return GenerationSettings(**flag_values(args, GenerationSettings)).validate()


def cmd_evaluate(args) -> dict:
    limit = EvaluationSettings(**flag_values(args, EvaluationSettings)).validate().limit
    generation = generation_settings(args)
    studio = studio_from(args)
    result = studio.evaluate(args.models, limit=limit, split=args.split, settings=generation)
    out = result.to_json()
    out["split"] = args.split
    out.update(_evaluation_insight(studio, result))
    if not args.json:
        print(f"{result.examples} dialogues, {result.seconds:.1f} s ({result.examples_per_second:.2f}/s)")
        for model_id in result.models:
            s = result.scores[model_id]
            print(f"{result.labels[model_id]:<40} " + "  ".join(
                f"{m} {100 * s[m]['mean']:.2f} [{100 * s[m]['low']:.2f}, {100 * s[m]['high']:.2f}]"
                for m in ("rouge1", "rouge2", "rougeL", "bleu") if m in s))
    return out


def _evaluation_insight(studio, result) -> dict:
    """evaluate --json's per_topic (topic groups) and paired (every pair's difference with its interval)."""
    from studio.measure.evaluation import pairwise_differences

    return {"per_topic": studio.per_topic(result), "paired": pairwise_differences(result)}


def cmd_summarize(args) -> dict:
    text = args.text if args.text is not None else _read_text(args.file)
    studio = studio_from(args)
    summary = studio.summarize([args.model], text, generation_settings(args))[0]
    if not args.json:
        print(summary.text)
    return {"model": summary.model, "summary": summary.text, "seconds": round(summary.seconds, 3)}


def cmd_score(args) -> dict:
    from studio.measure.evaluation import BLEU, METRICS, bleu_statistics, bleu_summary, rouge_summary, rouge_table

    predictions = _read_lines(args.predictions)
    reference_sets = [_read_lines(path) for path in args.references]
    for path, lines in zip(args.references, reference_sets):
        if len(lines) != len(predictions):
            raise CliError(f"{path} has {len(lines)} lines but {args.predictions} has {len(predictions)}.")
    if not predictions:
        raise CliError(f"{args.predictions} has no lines.")
    references = [list(lines) for lines in zip(*reference_sets)]
    table = rouge_table(predictions, references)
    # Corpus BLEU (sacrebleu) beside ROUGE, a fraction like the ROUGE keys, with the same bootstrap interval.
    summary = {**rouge_summary(table), BLEU: bleu_summary(bleu_statistics(predictions, references))}
    out = {m: summary[m]["mean"] for m in (*METRICS, BLEU)}
    out["n"] = len(predictions)
    out["intervals"] = {m: [summary[m]["low"], summary[m]["high"]] for m in (*METRICS, BLEU)}
    if not args.json:
        for m in (*METRICS, BLEU):
            print(f"{m:<10} {100 * out[m]:6.2f}  [{100 * summary[m]['low']:.2f}, {100 * summary[m]['high']:.2f}]")
    return out


def _read_text(path: str) -> str:
    """A text file of at most the upload limit; reads one byte past it, never more.

    The size on disk says nothing for /dev/zero, a pipe or /proc files (all size 0),
    so the read itself is capped.
    """
    from studio.config.settings import MAX_UPLOAD_BYTES

    limit_mb = MAX_UPLOAD_BYTES // 2**20
    size = Path(path).stat().st_size
    limit = f"the limit is {limit_mb} MB ({MAX_UPLOAD_BYTES:,} bytes)"
    if size > MAX_UPLOAD_BYTES:  # a stray disk image is refused before any read
        raise CliError(f"{path} is {size:,} bytes; {limit}.")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
    except PermissionError:
        raise CliError(f"{short_path(path)} cannot be read (permission denied).") from None
    except OSError as exc:   # /proc/self/mem and the like: there, but not readable as a file
        raise CliError(f"{short_path(path)} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise CliError(f"{path} holds more than {MAX_UPLOAD_BYTES:,} bytes; {limit}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text.") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode would


def _read_lines(path: str) -> list[str]:
    return [line.strip() for line in _read_text(path).splitlines()]


COMMANDS = (
    Command("evaluate", "ROUGE and BLEU of models on a split", _evaluate_arguments, cmd_evaluate),
    Command("summarize", "summarize one dialogue", _summarize_arguments, cmd_summarize),
    Command("score", "ROUGE and BLEU of prediction lines against reference lines", _score_arguments, cmd_score),
)
