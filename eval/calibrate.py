"""Pick the verifier's similarity threshold on the labelled pairs in eval/sets/support.jsonl.

`python -m eval.calibrate` prints accuracy, precision and recall for a grid of thresholds and the best
one; the chosen value is the default of `support_threshold` in rag/settings.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eval.metrics import classifier_metrics
from rag.desk import Desk
from rag.settings import load_settings
from rag.verify import Passage, Verifier

GRID = [round(0.30 + 0.05 * i, 2) for i in range(12)]


def load_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sweep(verifier: Verifier, pairs: list[dict], grid: list[float]) -> list[tuple[float, dict[str, float]]]:
    labels = [bool(p["supported"]) for p in pairs]
    results = []
    for threshold in grid:
        verifier.threshold = threshold
        predictions = [verifier.supports(p["sentence"], [Passage(text=p["passage"])]) for p in pairs]
        results.append((threshold, classifier_metrics(predictions, labels)))
    return results


def best_threshold(results: list[tuple[float, dict[str, float]]]) -> float:
    """Highest accuracy; ties go to the stricter threshold (a wrong 'supported' costs more)."""
    return max(results, key=lambda r: (r[1]["accuracy"], r[1]["precision"], r[0]))[0]


def main() -> int:
    settings = load_settings()
    pairs = load_pairs(settings.support_set)
    verifier = Verifier(Desk(settings).embedder, settings.support_threshold)
    results = sweep(verifier, pairs, GRID)
    for threshold, m in results:
        print(f"threshold {threshold:.2f}: accuracy {m['accuracy']:.3f} precision {m['precision']:.3f} recall {m['recall']:.3f}")
    print(f"best: {best_threshold(results):.2f} (current default {settings.support_threshold:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
