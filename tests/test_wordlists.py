"""No word list or pattern in rag/ or vectorstore/ carries anything specific to the seed articles
(names, aliases, typos): the tool must work on articles it has never seen."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Names, aliases, demonyms, outlets and typos of the five seed articles (tests may name them; code may not).
SEED_SPECIFIC = """amlo obrador lopez lópez biden blinken blinkenmet harris kamala barcena bárcena matamoros venezuelan
venezuela honduran guatemalan mexican mexicans sembrando mayorkas jara salazar tabasco chiapas darien darién pregress
wikimedida cuartoscuro astrazeneca monterrey brownsville sherwood montezuma alcalde latinus jornada sandoval ebrard
obradorand palaceoccurs mexicowhere salazarbetween""".split()


def module_level_strings(path: Path) -> list[str]:
    """String constants assigned at module or class level (word lists, tables, regexes), not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            found += [
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
    return found


def test_no_seed_specific_strings_in_word_lists_or_patterns():
    offenders = []
    for folder in ("rag", "vectorstore"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for text in module_level_strings(path):
                words = set(re.findall(r"[\wáéíóúñ]+", text.lower()))
                offenders += [f"{path.relative_to(ROOT)}: {w}" for w in sorted(words & set(SEED_SPECIFIC))]
    assert not offenders, offenders


def test_the_check_sees_a_planted_entry(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('"""Docstrings may say Biden."""\nALIASES = {"amlo": "x"}\n', encoding="utf-8")
    assert "amlo" in module_level_strings(planted) and not any(
        "Biden" in s for s in module_level_strings(planted)
    )
