"""Is a re-fitted pipeline better on the fitting data by more than that data's noise?

`python -m eval.fit_compare OLD_TABLE OLD_REPORT NEW_TABLE NEW_REPORT` takes two runs of
`eval.fit_gate --save-table` (the same questions, measured with, say, the old and a retrained reader)
and their reports, scores every question at each report's chosen point, and bootstraps the
difference in balanced accuracy over questions (paired: the same resample for both). Why: a fourth
reader run (2026-11-26) gained 0.9 points on the fitting store and then lost on both reporting sets;
this check, written then, puts that gain inside the fitting store's noise (12 questions better, 10
worse of 588; 95% interval -1.3 to +3.1 points), and the run was not shipped. A retrained model
should clear this check on the fitting data before it ships; the reporting sets then only report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eval import fit_gate
from eval.fit_gate import answerable_labels, is_json_object, load_table, passes, right_per_question

RESAMPLES = 5000
INTERVAL = (2.5, 97.5)  # percentiles: a 95% interval


def question_outcomes(rows, features: dict[int, np.ndarray], chosen: dict) -> np.ndarray:
    """Per question, right at the chosen point, scored as eval.fit_gate scores it."""
    table = features[chosen["reader_passages"]]
    return right_per_question(passes(table, chosen), table, answerable_labels(rows))


def balanced_accuracy(right: np.ndarray, answerable: np.ndarray) -> float:
    return float(fit_gate.balanced_accuracy(right, answerable))


def paired_bootstrap(old: np.ndarray, new: np.ndarray, answerable: np.ndarray, seed: int = 0) -> dict:
    """The new minus the old balanced accuracy, and its bootstrap interval over questions."""
    rng = np.random.default_rng(seed)
    n = len(answerable)
    differences = []
    for _ in range(RESAMPLES):
        sample = rng.integers(0, n, n)
        if answerable[sample].all() or not answerable[sample].any():
            continue  # a resample without both kinds has no balanced accuracy
        differences.append(
            balanced_accuracy(new[sample], answerable[sample])
            - balanced_accuracy(old[sample], answerable[sample])
        )
    low, high = np.percentile(differences, INTERVAL)
    return {
        "old": round(balanced_accuracy(old, answerable), 4),
        "new": round(balanced_accuracy(new, answerable), 4),
        "difference": round(balanced_accuracy(new, answerable) - balanced_accuracy(old, answerable), 4),
        "interval_95": [round(float(low), 4), round(float(high), 4)],
        "share_of_resamples_not_better": round(float(np.mean(np.array(differences) <= 0)), 3),
        "questions_better": int((new & ~old).sum()),
        "questions_worse": int((old & ~new).sum()),
        "clears_noise": bool(low > 0),
    }


def chosen_point(report: Path) -> dict | None:
    return json.loads(report.read_text(encoding="utf-8")).get("chosen")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for which in ("old", "new"):
        parser.add_argument(
            f"{which}_table", type=Path, help=f"eval.fit_gate --save-table of the {which} run"
        )
        parser.add_argument(f"{which}_report", type=Path, help=f"eval.fit_gate's report of the {which} run")
    args = parser.parse_args(argv)
    for path in (args.old_table, args.old_report, args.new_table, args.new_report):
        if not path.is_file() or not is_json_object(path):
            parser.error(f"{path} is not there or is not a JSON object written by eval.fit_gate")
    return args


def saved_runs(args: argparse.Namespace):
    """The two tables, or None when a file given as a table is not one (a report in its place)."""
    try:
        return load_table(args.old_table), load_table(args.new_table)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = saved_runs(args)
    if runs is None:
        print(
            "error: a table is not one written by eval.fit_gate --save-table (arguments swapped?)",
            file=sys.stderr,
        )
        return 2
    (old_rows, old_features), (new_rows, new_features) = runs
    if [row[0] for row in old_rows] != [row[0] for row in new_rows]:
        print(
            "error: the two tables hold different questions (measure both with the same --seed)",
            file=sys.stderr,
        )
        return 2
    old_chosen, new_chosen = chosen_point(args.old_report), chosen_point(args.new_report)
    for chosen, features, report in (
        (old_chosen, old_features, args.old_report),
        (new_chosen, new_features, args.new_report),
    ):
        if chosen is None or chosen.get("reader_passages") not in features:
            print(f"error: {report} has no chosen point its table was measured for", file=sys.stderr)
            return 2
    result = paired_bootstrap(
        question_outcomes(old_rows, old_features, old_chosen),
        question_outcomes(new_rows, new_features, new_chosen),
        answerable_labels(old_rows),
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
