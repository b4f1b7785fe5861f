"""`overlap`, `prompt-tokens`, `forgetting`, `weight-change`: the views that explain a comparison, as JSON.

    python -m studio overlap --summary TEXT --reference TEXT [--reference TEXT ...] [--dialogue TEXT] [--fool]
    python -m studio prompt-tokens RUN_ID --top-k 5  # what a prompt-tuning run's virtual tokens are near
    python -m studio forgetting --models original RUN_ID ...   # what each method forgot
    python -m studio weight-change RUN_ID [--matrix NAME] --json   # where a run changed the weights
"""
from __future__ import annotations

from studio.cli.command import Command, add_common, add_json_flag, studio_from


def _overlap_arguments(p) -> None:
    add_json_flag(p)
    p.add_argument("--summary", required=True, help="the summary to check")
    p.add_argument("--reference", action="append", required=True, help="a reference summary; repeat for more")
    p.add_argument("--dialogue", help="also mark which summary words were copied from this dialogue")
    p.add_argument("--fool", action="store_true",
                   help="also score the summary's words shuffled, the reference's most frequent word repeated "
                        "and (with --dialogue) the dialogue copied whole: can ROUGE be fooled?")


def _prompt_tokens_arguments(p) -> None:
    add_common(p)
    p.add_argument("run_id", help="a prompt-tuning run's id")
    p.add_argument("--top-k", type=int, default=5, help="nearest tokens per virtual token (1 to 50)")


def _forgetting_arguments(p) -> None:
    add_common(p)
    p.add_argument("--models", nargs="+", required=True, help="'original' and/or run ids")


def _weight_change_arguments(p) -> None:
    add_common(p)
    p.add_argument("run_id", help="a full fine-tuning, LoRA or prompt-tuning run's id")
    p.add_argument("--matrix", help="the weight matrix whose update's singular values to give, e.g. "
                                    "decoder.block.0.layer.0.SelfAttention.q.weight (default: the one that "
                                    "changed most)")


def cmd_overlap(args) -> dict:
    from studio.service.engine import Studio

    out = Studio.overlap(args.summary, args.reference)
    out["tokens"] = [{k: t[k] for k in ("text", "unigram", "bigram", "lcs")} for t in out["tokens"]]
    if args.dialogue is not None:
        copied = Studio.copied_words(args.summary, args.dialogue)
        out["copied"] = {"tokens": [{"text": t["text"], "copied": t["copied"]} for t in copied["tokens"]],
                         "new_words": copied["new_words"], "new_share": copied["new_share"]}
    if args.fool:
        from studio.measure.fooling import fool

        out["fool"] = fool(args.summary, args.reference, args.dialogue)
    if not args.json:
        print(f"best reference: {out['best_reference']}")
        for metric in ("rouge1", "rouge2", "rougeL"):
            s = out[metric]
            print(f"{metric:<7} P {100 * s['precision']:.1f}  R {100 * s['recall']:.1f}  F {100 * s['fmeasure']:.1f}")
        print(" ".join(f"[{t['text']}]" if t["unigram"] else t["text"] for t in out["tokens"]))
        for case in out.get("fool", {}).get("cases", []):
            print(f"\n{case['label']}: {case['text']}\n  " + "  ".join(
                f"{m} {100 * case[m]['fmeasure']:.1f}" for m in ("rouge1", "rouge2", "rougeL"))
                + f"  bleu {100 * case['bleu']:.1f}\n  {case['why']}")
    return out


def cmd_prompt_tokens(args) -> dict:
    studio = studio_from(args)
    out = studio.prompt_readout(args.run_id, args.top_k)
    if not args.json:
        for entry in out["virtual_tokens"]:
            print(f"{entry['index']:>3}  " + "  ".join(f"{n['token']} ({n['cosine']:.2f})" for n in entry["nearest"]))
        print(out["caveat"])
    return out


def cmd_forgetting(args) -> dict:
    studio = studio_from(args)
    out = studio.forgetting(args.models)
    if not args.json:
        print(f"{out['examples']} probe questions, tasks: " + ", ".join(f"{t} {n}" for t, n in out["tasks"].items()))
        for model, scores in out["scores"].items():
            change = out["change"].get(model, {}).get("overall")
            delta = f"  change {100 * change['exact_match']:+.1f}" if change else ""
            print(f"{model:<40} exact match {100 * scores['overall']['exact_match']:.1f}  "
                  f"F1 {100 * scores['overall']['f1']:.1f}{delta}")
    return out


def cmd_weight_change(args) -> dict:
    studio = studio_from(args)
    out = studio.weight_change(args.run_id, args.matrix)
    if not args.json:
        if not out["changes_weights"]:
            print(out["message"])
            return out
        print("relative change ||W_tuned - W_base|| / ||W_base||, in %")
        width = max(len(c) for c in out["columns"])
        print(" " * 11 + "  ".join(f"{c:>{width}}" for c in out["columns"]))
        for row, values in zip(out["rows"], out["grid"]):
            print(f"{row:<11}" + "  ".join(f"{'':>{width}}" if v is None else f"{100 * v:>{width}.3g}" for v in values))
        for m in out["matrices"]:
            if m["layer"] is None:
                change = m["relative_change"]
                print(f"{m['kind']}: {'-' if change is None else f'{100 * change:.3g}'}")
        sv = out["singular_values"]
        limit = f", at most {sv['rank_limit']} by construction" if sv["rank_limit"] is not None else ""
        print(f"\nsingular values of the update to {sv['matrix']} (numerical rank {sv['numerical_rank']} of "
              f"{min(sv['shape'])}{limit}):")
        print(" ".join(f"{v:.3g}" for v in sv["values"]))
    return out


COMMANDS = (
    Command("overlap", "which summary words ROUGE counted against the best reference", _overlap_arguments,
            cmd_overlap),
    Command("prompt-tokens", "nearest vocabulary tokens of a prompt-tuning run's virtual tokens",
            _prompt_tokens_arguments, cmd_prompt_tokens),
    Command("forgetting", "score models on tasks FLAN-T5 knew before fine-tuning", _forgetting_arguments,
            cmd_forgetting),
    Command("weight-change", "how much a run changed each weight matrix of the base model",
            _weight_change_arguments, cmd_weight_change),
)
