"""Sentence-level reading for briefings: event dates, figures, pending statements, trimming.

Pure functions over one sentence (and the article's date), no models, so every rule is tested on
its own. The rules are about English news prose in general (dates, numbers, modal verbs, clause
punctuation); none is about a particular article.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from rag.config.settings import default_settings
from rag.textfacts import MONTHS, WEEKDAYS

MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
DATE_PATTERNS = [
    (
        "month_day",
        re.compile(
            rf"\b{MONTH_RE}\s+(\d{{1,2}})(?:\s*[-–]\s*\d{{1,2}})?(?:,?\s+(\d{{4}}))?(?![\d,.]*\d)", re.I
        ),
    ),
    ("month_year", re.compile(rf"\b{MONTH_RE}\s+(?:of\s+)?(\d{{4}})\b", re.I)),
    (
        "weekday",
        re.compile(
            r"\b(?:on |this |last |next )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
        ),
    ),
    ("relative_month", re.compile(r"\b(last|this|next) month\b", re.I)),
    (
        "in_month",
        re.compile(rf"\b(?:in|since|until|by|from)\s+(?:early |late |mid-)?{MONTH_RE}(?!\s+\d)\b", re.I),
    ),
    (
        "year",
        re.compile(
            r"\b(?:in|since|until|by)\s+(?:early |late |mid-)?(1[89]\d{2}|20\d{2})\b(?![.,]\d)(?!\s*[-–]?\s*(?-i:[A-Z]))",
            re.I,
        ),
    ),
]
# A bare year dates a sentence's event only from its main clause: in a relative or subordinate
# clause ('migrants that crossed in 2023', ', as it did until 2023') it dates another event.
RELATIVE = re.compile(r"\b(?:that|which|who|whom|whose)\b", re.I)
THAT_VERBS = re.compile(
    r"\b(?:said|says|say|announced|stated|reported|confirmed|indicated|noted|argued|insisted|explained|warned|recalled|"
    r"added|told\s+\w+(?:\s+\w+)?|highlighted|stressed|believes?|believed|agreed|hoped|expects?|expected|showed|shows|"
    r"found|claimed|denied|acknowledged|admitted|revealed|estimated|predicted|promised|suggested|proposed|thinks?|thought)\s*$",
    re.I,
)
FUTURE = re.compile(
    r"\b(will|next|upcoming|scheduled|expected|plans? to|is to|are to|to be held|to take place)\b", re.I
)
INTRO = re.compile(r"^(?:in|on|at|during|after|before|according to|for|since)\b[^,]{0,60},\s+(?=[A-Z])", re.I)
APPOSITIVE = re.compile(r",\s(?:commonly |also |better |widely )?known as [^,]+,|,\s(?:who|which) [^,]+,")
# Statements whose outcome a later report would tell: plans, requests, proposals, expectations.
PENDING = re.compile(
    r"\b(will|would|is expected to|are expected to|is set to|plans? to|is scheduled to|upcoming|propos(?:al|ed|es)|"
    r"suggested that|urged|asked|called (?:on|for)|is seeking|are seeking|wants|not yet (?:confirmed|decided|known)|"
    r"ruled out|made no mention)\b",
    re.I,
)
ASK_VERBS = re.compile(
    r"\b(?:urged|asked|called on|suggested that|proposed that|wants)\s+(?P<who>(?:the\s+)?(?:[A-Z][\w.’'\-]*\s+){1,4})(?:to\s+)?(?P<verb>[a-z]+)\s+(?P<rest>.+)$"
)
SEEKING = re.compile(
    r"^(?P<subject>.+?)\s+(?:wants|want|is seeking|are seeking|seeks|is asking for|are asking for)\s+(?P<to>to\s+)?(?P<rest>.+)$"
)
PROPOSAL_FOR = re.compile(
    r"\bproposal\s+for\s+(?P<who>(?:the\s+)?(?:[A-Z][\w.’'\-]*\s+){1,4})to\s+(?P<rest>.+)$"
)
MODAL = re.compile(
    r"^(?P<subject>.+?)\s+(?:will|would|is expected to|are expected to|is set to|is scheduled to)\s+(?P<rest>.+)$"
)
SAID_THAT = re.compile(
    r"^.*?\b(?:said|says|announced|stated|reported|confirmed|indicated|noted|argued|insisted|explained|warned|"
    r"recalled|added|told \w+(?: \w+)?)\s+(?:that\s+)?",
    re.I,
)
ATTRIBUTION_TAIL = re.compile(r"[,”\"’']+\s+(?:\w+\s+){0,3}(?:said|added|says|told \w+)\s*$", re.I)
QUOTE_OPENERS = ("“", '"', "‘", "'")
PRONOUN_OPENING = re.compile(r"^(?:he|she|his|her|they|their|it|its|this|these|that|those)\b", re.I)
GENERIC_QUESTION = "Has this happened yet:"
CONNECTIVES = re.compile(
    r"^(?:in this context|in this sense|meanwhile|however|additionally|furthermore|moreover|also|in addition|"
    r"for (?:its|his|her|their) part|at the same time),\s*",
    re.I,
)
ASIDES = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])")
# Where a clause ends: a comma before a subordinating word (not a comma in a list), a semicolon, a dash.
CLAUSE_BREAK = re.compile(
    r",\s(?=(?:which|who|whom|where|while|whereas|but|as|after|before|based|according|in order|with|without|"
    r"including|although|though|because|since|when|amid|despite|especially|to be|this|that is)\b)|;\s|\s[–—]\s"
)
FIGURE = re.compile(
    r"(?<![\w.])(?P<figure>(?:US\s?|U\.S\.\s?)?[$€£]?\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|per cent))?"
    r"(?:\s(?:million|billion|trillion|thousand))?)(?![\w-])"
)
WHAT_STOP = frozenset(
    """for to from on at by that which who where when there with in of and as each per than or but since until after
    before during is are was were""".split()
)


def default(name: str):
    """A setting's default value: the keyword default of these pure functions, so the numbers live
    in rag/config/settings.py only (the pipeline passes the configured value)."""
    return getattr(default_settings(), name)


def resolve_date(sentence: str, article_date: str | None) -> tuple[str, str, bool] | None:
    """The date of what a sentence reports as (date, expression, relative). Explicit dates keep what
    they state; relative ones ('on Friday', 'last month', 'in May') are resolved against the
    article's date, or kept relative (relative=True) when the article has none. A year is only taken
    from an explicit date or an 'in/since YEAR' phrase, never from a number elsewhere."""
    anchor = date.fromisoformat(article_date) if article_date else None
    future = bool(FUTURE.search(sentence))
    for kind, pattern in DATE_PATTERNS:
        match = next(
            (
                m
                for m in pattern.finditer(sentence)
                if kind != "year" or m.start() < main_clause_end(sentence)
            ),
            None,
        )
        if match:
            expression = match.group(0).strip()
            found = RESOLVERS[kind](match, anchor, future)
            return (found, expression, False) if found else (expression, expression, True)
    return None


def main_clause_end(sentence: str) -> int:
    """Where a sentence's main clause ends: at the first clause break (', which', ', as', '; ')
    or relative pronoun; a 'that' after a reporting verb ('said that') opens the reported event
    itself and does not end it."""
    ends = [m.start() for m in CLAUSE_BREAK.finditer(sentence)]
    ends += [m.start() for m in RELATIVE.finditer(sentence) if not THAT_VERBS.search(sentence[: m.start()])]
    return min(ends, default=len(sentence))


def month_number(word: str) -> int:
    return next(i + 1 for i, m in enumerate(MONTHS) if m.startswith(word.lower().rstrip(".")[:3]))


def near_year(anchor: date, month: int, future: bool) -> int:
    """The year of a month named without one: the next such month when the sentence speaks of the
    future ('will', 'upcoming', 'to be held'), otherwise the latest one up to the article's date
    (news reports what has happened)."""
    if future:
        return anchor.year + (month < anchor.month)
    return anchor.year - (month > anchor.month)


def resolve_month_day(m, anchor, future):
    month, day, year = month_number(m.group(1)), int(m.group(2)), m.group(3)
    if year:
        return safe_iso(int(year), month, day)
    return safe_iso(near_year(anchor, month, future), month, day) if anchor else None


def resolve_weekday(m, anchor, future):
    if not anchor:
        return None
    target = WEEKDAYS.index(m.group(1).lower())
    if future:
        return (anchor + timedelta(days=(target - anchor.weekday()) % 7)).isoformat()
    return (anchor - timedelta(days=(anchor.weekday() - target) % 7)).isoformat()  # the most recent such day


def resolve_relative_month(m, anchor, future):
    if not anchor:
        return None
    index = anchor.year * 12 + anchor.month - 1 + {"last": -1, "this": 0, "next": 1}[m.group(1).lower()]
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def resolve_in_month(m, anchor, future):
    month = month_number(m.group(1))
    return f"{near_year(anchor, month, future):04d}-{month:02d}" if anchor else None


def safe_iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


RESOLVERS = {
    "month_day": resolve_month_day,
    "month_year": lambda m, anchor, future: f"{int(m.group(2)):04d}-{month_number(m.group(1)):02d}",
    "weekday": resolve_weekday,
    "relative_month": resolve_relative_month,
    "in_month": resolve_in_month,
    "year": lambda m, anchor, future: m.group(1),
}


# --- figures ---------------------------------------------------------------------------------------
def figures_in(
    sentence: str, what_max_words: int = default("summary_what_max_words")
) -> list[tuple[str, str]]:
    """(figure, what it counts) pairs: '$310 million in additional aid' -> ('$310 million', 'additional aid').
    Years, days of a date and numbers inside names ('Covid-19') are not figures."""
    found = []
    for match in FIGURE.finditer(sentence):
        figure = match.group("figure").strip()
        before = sentence[: match.start()].rstrip().lower()
        if is_date_part(figure, before, sentence[match.end() :]):
            continue
        what = counted_thing(sentence[match.end() :], what_max_words)
        if what and what.split()[0].lower() not in (
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "has",
            "have",
            "had",
        ):
            found.append((figure, what))
    return found


def is_date_part(figure: str, before: str, after: str) -> bool:
    if re.fullmatch(r"(1[89]|20)\d{2}s?", figure) and not after.lstrip().startswith(("%", "percent")):
        return True  # a year
    if (
        re.search(rf"\b{MONTH_RE}$", before, re.I)
        or re.match(r"\s*[-–]\s*\d", after)
        and re.search(MONTH_RE + r"\s*\d*$", before, re.I)
    ):
        return True  # 'January 3', 'Nov. 15-17'
    return before.endswith(("-", "covid")) or bool(re.match(r"[-/]\d", after))


def counted_thing(after: str, max_words: int) -> str:
    """The words after a figure up to the first preposition or punctuation (a leading 'in'/'of' is skipped)."""
    words = re.findall(r"[\w’'\-]+|[^\w\s]", after)
    if words and words[0].lower() in ("in", "of"):
        words = words[1:]
    kept = []
    for word in words:
        if not re.match(r"[\w’'\-]", word) or word.lower() in WHAT_STOP or len(kept) >= max_words:
            break
        kept.append(word)
    return " ".join(kept)


# --- pending statements, trimming --------------------------------------------------------------------
def is_pending(sentence: str) -> bool:
    """A plan, request, proposal or expectation (its outcome is for a later report), not a quotation."""
    return bool(PENDING.search(sentence)) and not is_quotation(sentence)


def is_quotation(sentence: str) -> bool:
    """A sentence that is someone's words in quotation marks, not the article's own finding."""
    return sentence.lstrip().startswith(QUOTE_OPENERS) or bool(ATTRIBUTION_TAIL.search(sentence.rstrip(".")))


def needs_rewrite(sentence: str, max_words: int) -> bool:
    """A sentence that does not stand alone as it is: opens with a pronoun, quotes, or runs long."""
    return (
        bool(PRONOUN_OPENING.match(sentence)) or is_quotation(sentence) or len(sentence.split()) > max_words
    )


def question_from(
    sentence: str, max_words: int, min_words: int = default("summary_min_trimmed_words")
) -> str:
    """The open question a pending statement raises, built from its own words (cut at a clause
    boundary when longer than max_words)."""
    body = ATTRIBUTION_TAIL.sub("", sentence.strip().rstrip("."))
    body = trim_sentence(CONNECTIVES.sub("", INTRO.sub("", body)), max_words, min_words).rstrip('.!?"”')
    if ask := ASK_VERBS.search(body) or PROPOSAL_FOR.search(body):
        verb = f"{ask.group('verb')} " if "verb" in ask.groupdict() else ""
        return balance_quotes(f"Will {ask.group('who').strip()} {verb}{ask.group('rest')}?")
    clause = SAID_THAT.sub("", body) if SAID_THAT.match(body) else body
    if seek := SEEKING.match(clause):  # the request's own verb is kept: the verifier rejects a swapped one
        verb = re.search(r"(wants?|seeking|seeks|asking for)\s", clause).group(1)
        auxiliary, verb = (
            ("Does", "want") if verb.startswith("want") else ("Is", verb if verb != "seeks" else "seeking")
        )
        subject = lower_first(seek.group("subject").split(", ")[-1])
        return balance_quotes(
            f"{auxiliary} {subject} still {verb} {seek.group('to') or ''}{seek.group('rest')}?"
        )
    if modal := MODAL.match(clause):
        subject = re.split(r",\s|\bthat\s", modal.group("subject"))[-1]
        if subject.lower() in ("he", "she", "they") and (
            speaker := re.match(r"^(?:[A-Z][\w.’'\-]*\s)+", body)
        ):
            subject = speaker.group(0).strip()  # 'AMLO indicated that he would ...' -> 'Will AMLO ...'
        elif subject.lower() in ("he", "she", "they", "it"):
            return f"{GENERIC_QUESTION} {lower_first(CONNECTIVES.sub('', clause))}?"
        return balance_quotes(f"Will {lower_first(subject)} {modal.group('rest')}?")
    return f"{GENERIC_QUESTION} {lower_first(CONNECTIVES.sub('', clause))}?"


def balance_quotes(text: str) -> str:
    """Quotation marks left unpaired by a cut are dropped ('champion “a new policy?')."""
    if text.count("“") != text.count("”") or text.count('"') % 2:
        return re.sub(r"[“”\"]", "", text)
    return text


def lower_first(text: str) -> str:
    """Lowercase a sentence-initial common word ('The meetings' -> 'the meetings'), not a name."""
    first = text.split(" ", 1)[0]
    return (
        text
        if first.isupper()
        or first.lower() not in ("the", "a", "an", "this", "that", "these", "those", "it", "they")
        else first.lower() + text[len(first) :]
    )


def trim_sentence(
    sentence: str, max_words: int, min_words: int = default("summary_min_trimmed_words")
) -> str:
    """The sentence without opening connectives and bracketed asides; if still longer than
    max_words, cut at the last clause boundary that keeps it within the limit (never mid-clause)
    and leaves at least min_words (a shorter cut says too little: the sentence is kept whole)."""
    text = CONNECTIVES.sub("", ASIDES.sub("", sentence)).strip()
    if len(text.split()) > max_words:
        text = APPOSITIVE.sub("", INTRO.sub("", text))
    text = text[0].upper() + text[1:] if text else text
    if len(text.split()) <= max_words:
        return text
    cuts = [m.start() for m in CLAUSE_BREAK.finditer(text) if len(text[: m.start()].split()) <= max_words]
    return (
        (text[: cuts[-1]].rstrip(" ,;:") + ".")
        if cuts and len(text[: cuts[-1]].split()) >= min_words
        else text
    )


def replace_pronoun(sentence: str, name: str | None) -> str:
    """A sentence opening with he/she/his/her gets the name it refers to (found by the caller)."""
    if not name:
        return sentence
    match = re.match(r"^(He|She|His|Her)\b", sentence)
    if not match:
        return sentence
    replacement = name + ("’s" if match.group(1) in ("His", "Her") else "")
    return replacement + sentence[match.end() :]
