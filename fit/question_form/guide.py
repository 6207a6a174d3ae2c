"""The labelling guide of the question-form set, and its rules for labelling SQuAD questions.

The guide (what each form means; the written questions and the hand-labelled SQuAD sample follow it):
- comparison: the question sets two or more named sides against each other ('Compare A and B',
  'A vs B', 'the difference between A and B', 'how does A differ from B', 'what did A and B each say',
  'what is new in 2012 compared with 2011');
- timeline: it asks how something changed or developed over time ('how has X changed', 'over the
  years', 'what happened with X', 'give a timeline of X');
- descriptive: it asks for reasons, manner, or what was discussed, said or wanted, which no single
  name, number or phrase answers ('why ...', 'how did X ...', 'what did A and B discuss', 'what does
  X want');
- factoid: it asks for one fact: a name, number, date, place or phrase (who, when, where, which, how
  many, what is ...). A question that names a fact type (who, when, how many) is factoid whatever
  else it says.

The rules below apply the guide to SQuAD's questions, which are too many to label by hand; they are
used for the fitting part only. The reporting part's SQuAD questions are a random sample labelled by
hand (fit/question_form/data.py), so the held-out accuracy does not measure agreement with these
rules. The rules are fitting-time only: what the product runs is the fitted model.
"""

from __future__ import annotations

import re

QUANTITY_HOW = (
    r"how\s+(much|many|long|old|far|big|large|often|tall|high|fast|wide|deep|heavy|early|late|soon|small|"
    r"frequent|common|likely|important|hot|cold|close|strong|popular|successful)\b"
)
# A question that names the type of fact it wants is factoid first.
FACT_TYPE = re.compile(
    r"^\s*(who|whom|whose|when|where|which|in (what|which) year|what (year|date|day|month|time|percentage|"
    r"number|amount))\b|" + QUANTITY_HOW,
    re.I,
)
RULES = (
    (
        "comparison",
        (
            r"^\s*(compare|contrast)\b",
            r"\b(what|which) (is|are|was|were) the (main |major |key )?differences? between\b",
            r"\bhow (does|do|did|is|are|was|were)\b.*\b(compare|differ)\w*\b (to|with|from)\b",
            r"\b(vs\.?|versus)\b.*\?\s*$",
        ),
    ),
    (
        "timeline",
        (
            r"\bhow (has|have)\b.*\b(chang|evolv|develop|shift|progress)\w*\b",
            r"\bover the (years|decades|centuries)\b",
            r"\bwhat (has )?happened (with|since|so far)\b",
        ),
    ),
    (
        "descriptive",
        (
            r"^\s*why\b",
            r"^[^?]*,\s*why\b",
            r"^\s*how\s+(did|does|do|is|are|was|were|has|have|had|can|could|would|should|will|might|may)\b",
            r"^\s*(describe|explain|summari[sz]e|tell me about)\b",
            r"^\s*what (did|does|do|has|have|had|will|would)\b.*\b(discuss|talk about|talked about|say about|"
            r"said about|wants?|argue|propose|agree on|think about)\w*\s*\?\s*$",
            r"^\s*what (was|is|were|are) (discussed|said|agreed)\b",
        ),
    ),
)
COMPILED = tuple((form, tuple(re.compile(p, re.I) for p in patterns)) for form, patterns in RULES)


def guide_label(question: str) -> str:
    """The guide's form for a SQuAD question, by the rules above (factoid when none applies)."""
    text = question.strip()
    if FACT_TYPE.search(text) and not re.match(r"\s*compare\b", text, re.I):
        return "factoid"
    for form, patterns in COMPILED:
        if any(p.search(text) for p in patterns):
            return form
    return "factoid"
