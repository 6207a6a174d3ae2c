"""Choose the verifier's rules on fitting pairs; report them on pairs they were not chosen on.

`python -m fit.calibrate` reads two labelled pair sets:
- eval/sets/support_public.jsonl (made by `python -m fit.support_pairs` from public SQuAD 2.0 training
  articles): fit on the 'fit' articles of eval/sets/splits.json, report on its 'report' articles;
- eval/sets/support.jsonl (hand pairs from the seed articles): fit on its 'fit' part, report on the rest.
It tries every combination of the grid below on the fitting pairs (objective: the mean of the two sets'
accuracies, ties to the higher precision: a wrong 'supported' costs more than a wrong refusal, then
to the stricter threshold, then to the earlier value in the grid), then
prints accuracy, precision and recall on the report pairs of each set, overall and by kind, for the
verifier before this change ('old') and the chosen rules ('new'), and writes them to
eval/sets/verifier_report.json. The chosen values are the support_* defaults in rag/config/settings.py.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

from eval import squad
from eval.metrics import classifier_metrics
from eval.runner import support_pairs
from eval.sets_io import SETS_DIR, support_set_path
from rag.config.settings import load_settings
from rag.questions.verify import Findings, MemoEmbedder, Passage, Rules, Verifier, decide
from rag.store.desk import Desk

SETS = SETS_DIR
PUBLIC_PAIRS = SETS / "support_public.jsonl"
PUBLIC_SOURCE = "squad2-train-10-articles.json"
REPORT_FILE = SETS / "verifier_report.json"
# Choices are listed in order of preference: a tie on the fitting pairs goes to the earlier value
# (the pairs cannot tell a pronoun rule from 'never', nor a passive-aware order from a strict one).
GRID = {
    "threshold": [round(0.30 + 0.05 * i, 2) for i in range(13)],
    "coverage_floor": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "max_new_words": [0, 1, 2, 3, 5],
    "names_from_context": ["pronoun", "never", "always"],
    "role_order": ["passive", "strict", "off"],
    "role_slots": [True, False],
    "substitutions": [True, False],
}
# The verifier before the rules above (commit 1a4814e): names from anywhere in the chunk, no order or
# new-word checks, coverage floor 0.5, similarity 0.5 unless 85% of the words are in the source.
OLD = {"threshold": 0.5, "coverage_floor": 0.5, "coverage_alone": 0.85}


def public_pairs(part: str) -> list[dict]:
    titles = set(squad.split_of(Path(PUBLIC_SOURCE))[part])
    rows = [
        json.loads(line) for line in PUBLIC_PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [r for r in rows if r["article"] in titles]


def passages_of(pair: dict) -> list[Passage]:
    return [Passage(text=pair["passage"], context=pair.get("context", ""))]


def old_decision(found: Findings) -> bool:
    """The verdict of the verifier before this change, from the same findings."""
    problems = [m for m in found.missing]
    if found.negation == "negation not in the source":
        problems.append(found.negation)
    if found.coverage < OLD["coverage_floor"]:
        problems.append("coverage")
    elif found.similarity < OLD["threshold"] and found.coverage < OLD["coverage_alone"]:
        problems.append("similarity")
    return not problems


def all_rules() -> list[Rules]:
    keys = list(GRID)
    return [Rules(**dict(zip(keys, values))) for values in itertools.product(*(GRID[k] for k in keys))]


def score(findings: list[Findings], labels: list[bool], rules: Rules) -> dict[str, float]:
    return classifier_metrics([not decide(f, rules) for f in findings], labels)


def evaluate_grid(fit_sets: dict[str, tuple[list[Findings], list[bool]]]) -> list[tuple[tuple, Rules, dict]]:
    """(ranking key, rules, scores per fitting set) for every rule combination. The key: mean accuracy
    over the fitting sets, then mean precision, then the stricter threshold."""
    evaluated = []
    for rules in all_rules():
        scores = {name: score(f, labels, rules) for name, (f, labels) in fit_sets.items()}
        key = (
            round(mean_over(scores, "accuracy"), 6),
            round(mean_over(scores, "precision"), 6),
            rules.threshold,
        )
        evaluated.append((key, rules, scores))
    return evaluated


def mean_over(scores: dict[str, dict[str, float]], metric: str) -> float:
    """One metric's mean over the fitting sets."""
    return sum(s[metric] for s in scores.values()) / len(scores)


def options(evaluated: list[tuple[tuple, Rules, dict]]) -> dict[str, dict]:
    """For each choice (new words allowed, where names may come from, role checks): the best rules with
    that value fixed and their fitting scores, to show what each option costs or buys."""
    shown = {}
    for key in ("max_new_words", "names_from_context", "role_order", "role_slots", "substitutions"):
        for value in GRID[key]:
            best = max((e for e in evaluated if getattr(e[1], key) == value), key=lambda e: e[0])
            shown[f"{key}={value}"] = {
                "rules": best[1].__dict__,
                "fit": {n: {k: round(v, 3) for k, v in m.items()} for n, m in best[2].items()},
            }
    return shown


def by_kind(pairs: list[dict], predictions: list[bool]) -> dict[str, dict]:
    """Per kind: how many pairs, and the share judged supported (recall for positives, let-through for negatives)."""
    kinds: dict[str, dict] = {}
    for pair, predicted in zip(pairs, predictions):
        k = kinds.setdefault(
            pair["kind"], {"supported": pair["supported"], "pairs": 0, "judged_supported": 0}
        )
        k["pairs"] += 1
        k["judged_supported"] += int(predicted)
    for k in kinds.values():
        k["share_judged_supported"] = round(k["judged_supported"] / k["pairs"], 3)
    return dict(sorted(kinds.items()))


def report_on(pairs: list[dict], findings: list[Findings], rules: Rules) -> dict:
    labels = [bool(p["supported"]) for p in pairs]
    old = [old_decision(f) for f in findings]
    new = [not decide(f, rules) for f in findings]
    rounded = lambda m: {k: round(v, 3) for k, v in m.items()}  # noqa: E731
    return {
        "pairs": len(pairs),
        "old": rounded(classifier_metrics(old, labels)),
        "new": rounded(classifier_metrics(new, labels)),
        "old_by_kind": by_kind(pairs, old),
        "new_by_kind": by_kind(pairs, new),
    }


def print_report(name: str, result: dict) -> None:
    print(f"\n{name}: {result['pairs']} report pairs")
    for which in ("old", "new"):
        m = result[which]
        print(
            f"  {which}: accuracy {m['accuracy']:.3f} precision {m['precision']:.3f} recall {m['recall']:.3f}"
        )
    for kind, new in result["new_by_kind"].items():
        old = result["old_by_kind"][kind]
        label = "passes (recall)" if new["supported"] else "gets through"
        print(
            f"  {kind:22s} {new['pairs']:4d} {label:16s} old {old['share_judged_supported']:.0%}  new {new['share_judged_supported']:.0%}"
        )


def main() -> int:
    settings = load_settings()
    verifier = Verifier(MemoEmbedder(Desk(settings).embedder))
    sets = {
        "public": (public_pairs("fit"), public_pairs("report")),
        "seeds": (
            support_pairs(support_set_path(settings), "fit"),
            support_pairs(support_set_path(settings), "report"),
        ),
    }
    every = [p for fit, report in sets.values() for p in fit + report]
    verifier.embedder.prime([p["sentence"] for p in every] + [p["passage"] for p in every])
    found = {
        name: tuple([verifier.findings(p["sentence"], passages_of(p)) for p in part] for part in parts)
        for name, parts in sets.items()
    }
    fit_sets = {name: (found[name][0], [bool(p["supported"]) for p in sets[name][0]]) for name in sets}
    evaluated = evaluate_grid(fit_sets)
    _, rules, fit_scores = max(evaluated, key=lambda e: e[0])
    shown = options(evaluated)
    for name, option in shown.items():
        print(
            f"  best with {name}: "
            + "; ".join(
                f"{n} accuracy {m['accuracy']:.3f} recall {m['recall']:.3f}" for n, m in option["fit"].items()
            )
        )
    print(f"chosen on {sum(len(s[0]) for s in sets.values())} fitting pairs: {rules}")
    for name, s in fit_scores.items():
        print(
            f"  fit {name}: accuracy {s['accuracy']:.3f} precision {s['precision']:.3f} recall {s['recall']:.3f}"
        )
    results = {name: report_on(sets[name][1], found[name][1], rules) for name in sets}
    for name, result in results.items():
        print_report(name, result)
    write_report(rules, sets, fit_scores, results, shown)
    return 0


def write_report(rules: Rules, sets: dict, fit_scores: dict, results: dict, shown: dict) -> None:
    report = {
        "measured_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "chosen_rules": rules.__dict__,
        "fitted_on": {
            "public": f"{PUBLIC_PAIRS.name}, pairs of the 'fit' articles of {PUBLIC_SOURCE} in splits.json ({len(sets['public'][0])} pairs)",
            "seeds": f"support.jsonl, pairs of the seeds split's 'fit' articles ({len(sets['seeds'][0])} pairs)",
            "objective": "mean accuracy of the two fitting sets; ties to higher mean precision, then the stricter threshold, then the earlier value in the grid (listed in order of preference)",
            "grid": GRID,
        },
        "fit_scores": fit_scores,
        "options_on_fit": shown,
        "old_verifier": "commit 1a4814e: names from anywhere in the chunk; coverage floor 0.5; similarity >= 0.5 unless coverage >= 0.85; no order or new-word checks",
        "report": {
            "public": {"on": f"pairs of the 'report' articles of {PUBLIC_SOURCE}", **results["public"]},
            "seeds": {"on": "support.jsonl pairs of the seeds split's 'report' articles", **results["seeds"]},
        },
    }
    REPORT_FILE.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
