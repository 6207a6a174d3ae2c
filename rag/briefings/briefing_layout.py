"""The reduce step of a briefing: which sentences go where, and how they are grouped.

Works on the scored sentences (Notes) the Summarizer mapped; every entry is cited through it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from rag.briefings.briefing_actors import Actor, mentions_in, merge
from rag.briefings.briefing_model import NOT_STATED, Briefing
from rag.briefings.briefing_text import (
    GENERIC_QUESTION,
    default,
    figures_in,
    is_pending,
    is_quotation,
    question_from,
    resolve_date,
    trim_sentence,
)
from vectorstore.keyword import STOPWORDS, fold


class Ticker:
    """Progress as (done, total, what): one step per article read and per line written."""

    def __init__(self, progress: Callable[[int, int, str], None] | None, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def step(self, what: str) -> None:
        self.done = min(self.done + 1, self.total)
        if self.progress:
            self.progress(self.done, self.total, what)

    def finish(self) -> None:
        if self.progress and self.done < self.total:
            self.done = self.total
            self.progress(self.total, self.total, "done")


# --- which articles ------------------------------------------------------------------------------------
def pick_records(desk, records: list, topic_vector: np.ndarray | None, where) -> list:
    """All articles in scope, or, over summary_max_docs, the ones closest to the topic (without a
    topic: MMR over article vectors, so the picks are representative and varied across the corpus).
    Article vectors come from the stored chunk vectors, nothing is embedded again: with a topic, the
    nearest chunks of the store's HNSW search (``where`` is the scope as the store filters it), the
    articles ranked by their nearest chunk; without one, each article's mean chunk vector."""
    limit = desk.settings.summary_max_docs
    if len(records) <= limit:
        return sorted(records, key=lambda r: r.source)
    wanted = {r.source for r in records}
    if topic_vector is not None:
        picked = [s for s in desk.store.closest_sources(topic_vector, limit, where) if s in wanted]
    else:
        means = desk.store.mean_vectors(wanted)
        sources = sorted(means)
        picked = mmr_sources(sources, np.stack([means[s] for s in sources]), limit, desk.settings.mmr_lambda)
    by_source = {r.source: r for r in records}
    return sorted((by_source[s] for s in picked), key=lambda r: r.source)


def mmr_sources(sources: list[str], means: np.ndarray, limit: int, lam: float) -> list[str]:
    """MMR over articles' mean vectors (rows of ``means``, aligned with ``sources``)."""
    means = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)
    centroid = means.mean(axis=0)
    central = means @ (centroid / max(float(np.linalg.norm(centroid)), 1e-9))
    chosen: list[int] = [int(np.argmax(central))]
    closest = means @ means[chosen[0]]
    while len(chosen) < min(limit, len(sources)):
        gain = lam * central - (1 - lam) * closest
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain))
        chosen.append(pick)
        closest = np.maximum(closest, means @ means[pick])
    return [sources[k] for k in chosen]


# --- the briefing --------------------------------------------------------------------------------------
def build(summarizer, notes: list, records: list, rewriter, tick: Ticker) -> Briefing:
    s = summarizer.settings
    actors = who_is_who(notes, s.summary_similar_first_names)
    ranked = rank_notes(notes, s.summary_duplicate_similarity)
    top, rest = split_bottom_line(ranked, s)
    theme_notes = round_robin(rest, s.summary_points)
    briefing = Briefing(topic=None, scope="")
    briefing.bottom_line = [write_point(summarizer, rewriter, n, actors, tick) for n in top]
    points = {id(n): write_point(summarizer, rewriter, n, actors, tick) for n in theme_notes}
    briefing.themes = [
        {"label": label, "points": [points[id(n)] for n in group]} for label, group in themes(theme_notes, s)
    ]
    briefing.figures = key_figures(summarizer, notes, s.summary_max_figures)
    briefing.timeline, briefing.undated_events = timeline(
        summarizer, notes, s.summary_max_timeline, s.summary_max_undated
    )
    briefing.actors = [actor_entry(summarizer, a, notes) for a in actors[: s.summary_max_actors]]
    briefing.open_questions = open_questions(summarizer, rewriter, notes, s.summary_max_questions, tick)
    return briefing


def rank_notes(notes: list, duplicate_similarity: float) -> list:
    """Key sentences, best first (own score plus closeness to everything the articles say), repeats
    dropped. Quotations are someone's words, not the articles' findings: they are left to the
    sections that cite them (figures, timeline, questions)."""
    key = [n for n in notes if n.key and not is_quotation(n.text)] or [n for n in notes if n.key]
    centroid = np.mean([n.vector for n in key], axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    ordered = sorted(key, key=lambda n: -(n.score + float(n.vector @ centroid)))
    unique: list = []
    for note in ordered:
        if all(float(note.vector @ kept.vector) < duplicate_similarity for kept in unique):
            unique.append(note)
    return unique


def split_bottom_line(ranked: list, s) -> tuple[list, list]:
    """The best sentence of each article first (so the bottom line spans the articles), among those
    short enough once trimmed (a bottom line is read at a glance); then the rest."""
    size, most = s.summary_bottom_line, s.summary_point_max_words
    short = [
        n for n in ranked if len(trim_sentence(n.text, most, s.summary_min_trimmed_words).split()) <= most
    ]
    top = round_robin(short, size)
    top += round_robin([n for n in ranked if n not in top], size - len(top))
    chosen = {id(n) for n in top}
    return top, [n for n in ranked if id(n) not in chosen]


def round_robin(ranked: list, size: int) -> list:
    by_source: dict[str, list] = defaultdict(list)
    for note in ranked:
        by_source[note.source].append(note)
    order = list(by_source)  # sources in the order of their best sentence
    picked: list = []
    while len(picked) < size and any(by_source.values()):
        for source in order:
            if by_source[source] and len(picked) < size:
                picked.append(by_source[source].pop(0))
    return picked


def write_point(summarizer, rewriter, note, actors: list[Actor], tick: Ticker) -> dict[str, Any]:
    context = summarizer.context(note)
    person = last_person(context, person_names(actors), summarizer.settings.summary_subject_words)
    named = tuple(a.name for a in actors if a.kind == "person" and any(v in context for v in a.variants))
    line = rewriter.point(note.text, context, person, named)
    tick.step("writing")
    return summarizer.item(line, note)


def last_person(
    context: str, people: list[str], subject_words: int = default("summary_subject_words")
) -> str | None:
    """Who a following 'he' or 'she' most likely is: the last person who is the subject of a
    sentence of the context (named within subject_words of its start, or right before
    'said'/'told'). None when no sentence has a person as subject: the pronoun stays as written."""
    found = []
    for sentence in re.split(r"(?<=[.!?”])\s+", context):
        for name in people:
            at = sentence.find(name)
            subject = at >= 0 and (
                len(sentence[:at].split()) <= subject_words
                or re.match(r"\s+(?:also\s+)?(?:said|told|added)\b", sentence[at + len(name) :])
            )
            if subject:
                found.append((context.rfind(sentence), at, name))
    return max(found)[2] if found else None


def person_names(actors: list[Actor]) -> list[str]:
    return [v for a in actors if a.kind == "person" for v in a.variants]


# --- themes --------------------------------------------------------------------------------------------
def themes(notes: list, s) -> list[tuple[str, list]]:
    """Points grouped by average-link clustering of their vectors; each group labelled by the words
    that set it apart from the other points. Groups keep the order of their best point."""
    groups = [[n] for n in notes]
    while len(groups) > 1:
        pairs = [
            (average_similarity(a, b), i, j)
            for i, a in enumerate(groups)
            for j, b in enumerate(groups)
            if i < j
        ]
        best, i, j = max(pairs)
        if best < s.summary_theme_similarity and len(groups) <= s.summary_max_themes:
            break
        groups[i] += groups.pop(j)
    return [(label(group, notes, s), group) for group in groups]


def average_similarity(a: list, b: list) -> float:
    return float(np.mean([x.vector @ y.vector for x in a for y in b]))


def label(group: list, everything: list, s) -> str:
    """The phrase most particular to a group (tf-idf over the points; a phrase is one content word
    or two adjacent ones, so 'work visas' can beat 'visas'), then the best one sharing no word with
    it: a short label such as 'Deportation flights, cooperation'."""
    phrases = [label_phrases(n.text, s) for n in everything]
    df = Counter(p for found in phrases for p in found)
    tf = Counter(p for n in group for p in label_phrases(n.text, s))
    proper = {fold(w) for n in group for w in re.findall(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'\-]+", n.text)}

    def weight(phrase: tuple[str, ...]) -> float:
        named = s.summary_name_label_weight if set(phrase) & proper else 1.0
        return (
            tf[phrase]
            * math.log(1 + len(everything) / df[phrase])
            * sum(specificity(w, s) for w in phrase)
            * named
        )

    ranked = sorted(tf, key=lambda p: (-weight(p), p))
    # What several points of a theme share names it better than one point's rare word: it leads.
    shown = [next((p for p in ranked if tf[p] > 1), ranked[0])] if ranked else []
    for phrase in ranked:
        if len(shown) < s.summary_label_phrases and not any(set(phrase) & set(kept) for kept in shown):
            shown.append(phrase)
    text = ", ".join(display_form(phrase, group) for phrase in shown)
    return text[:1].upper() + text[1:] if text else "Other developments"


def label_phrases(text: str, s) -> set[tuple[str, ...]]:
    """Content words of a sentence and pairs of adjacent ones (punctuation and other words break a pair)."""
    found: set[tuple[str, ...]] = set()
    previous = None
    for token in re.findall(r"[\w’'\-]+|[^\w\s]", text):
        word = fold(token)
        if not is_label_word(word, s):
            previous = None
            continue
        found.add((word,))
        if previous:
            found.add((previous, word))
        previous = word
    return found


def is_label_word(word: str, s) -> bool:
    """A word that can name a theme: not a function word, adverb, past form or one of the commonest
    words of English."""
    return (
        len(word) >= s.summary_label_min_chars
        and word.isalpha()
        and not word.endswith(("ly", "ed"))
        and word not in STOPWORDS
        and word not in REPORTING
        and specificity(word, s) > 0
    )


def specificity(word: str, s) -> float:
    """How particular a word is (wordfreq's Zipf scale turned round): 'deportation' high, 'able' zero."""
    from vectorstore.glue import zipf

    return max(0.0, s.summary_label_common_zipf - zipf(word, "en"))


# Words of reporting and attribution: who reports something is not what a theme is about.
REPORTING = frozenset(
    """said says told added according also would could should will have been being their there which these those while
    outlet outlets newspaper media sources source statement report reports spokesperson spokesman spokeswoman""".split()
)


def display_form(phrase: tuple[str, ...], group: list) -> str:
    """A phrase as the points write it (('lópez', 'obrador') -> 'López Obrador')."""
    for note in group:
        words = re.findall(r"[\w’'\-]+", note.text)
        for i in range(len(words) - len(phrase) + 1):
            if tuple(fold(w) for w in words[i : i + len(phrase)]) == phrase:
                return " ".join(words[i : i + len(phrase)])
    return " ".join(phrase)


# --- figures, timeline, questions -------------------------------------------------------------------------
def key_figures(summarizer, notes: list, most: int) -> list[dict[str, Any]]:
    """Amounts, shares and counts, the weightiest first (money, percentages, millions, thousands,
    then small counts), each once."""
    what_words = summarizer.settings.summary_what_max_words
    found = [(figure_weight(f), -n.score, f, w, n) for n in notes for f, w in figures_in(n.text, what_words)]
    rows, seen = [], set()
    for _, _, figure, what, note in sorted(found, key=lambda x: (-x[0], x[1])):
        if (figure, what.split()[0].lower()) in seen or len(rows) >= most:
            continue
        seen.add((figure, what.split()[0].lower()))
        date = summarizer.event_date(note)
        rows.append(
            {
                "figure": figure,
                "what": what,
                "date": None if date == NOT_STATED else date,
                "citations": [summarizer.cite(note)],
            }
        )
    return rows


def figure_weight(figure: str) -> int:
    if re.search(r"[$€£]|million|billion|trillion", figure):
        return 3
    if "%" in figure or "percent" in figure or "per cent" in figure:
        return 2
    return 1 if float(re.sub(r"[^\d.]", "", figure) or 0) >= 1000 else 0


def timeline(summarizer, notes: list, most: int, most_undated: int) -> tuple[list, list]:
    """Dated events: the days the articles refer to most, each with its most central sentence
    (rag/briefings/timeline.py, over the sentences the map step read), in date order and within the
    briefing's dates; events of undated articles whose sentence gives no year are kept apart,
    marked, never guessed."""
    from rag.briefings.timeline import select_timeline

    records = list({n.source: n.record for n in notes}.values())
    read: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for note in notes:
        read[note.source].append((note.start, note.end))
    scope = summarizer.scope
    chosen = select_timeline(records, most, 1, summarizer.settings, dict(read), scope.since, scope.until)
    by_place = {(n.source, n.start): n for n in notes}
    dated = [
        {"date": x.date, "event": x.text, "citations": [summarizer.cite(by_place[(x.source, x.start)])]}
        for x in chosen
    ]
    return dated, undated_events(summarizer, notes, most_undated)


def undated_events(summarizer, notes: list, most: int) -> list[dict[str, Any]]:
    apart, seen = [], set()
    for note in sorted(notes, key=lambda n: -n.score):
        found = resolve_date(note.text, note.record.date)
        if found and found[2] and note.text not in seen and len(apart) < most:
            seen.add(note.text)
            apart.append(
                {
                    "when": found[1],
                    "event": note.text,
                    "note": "article undated",
                    "citations": [summarizer.cite(note)],
                }
            )
    return apart


def open_questions(summarizer, rewriter, notes: list, most: int, tick: Ticker) -> list[dict[str, Any]]:
    """Pending statements as questions; those whose own grammar gives a question come first, so the
    LLM (and the plain 'has this happened' form) is needed for as few as possible."""
    pending = [n for n in sorted(notes, key=lambda n: -n.score) if is_pending(n.text)]
    s = summarizer.settings
    specific = [
        n
        for n in pending
        if not question_from(n.text, s.summary_point_max_words, s.summary_min_trimmed_words).startswith(
            GENERIC_QUESTION
        )
    ]
    rest = [n for n in pending if n not in specific]
    out = []
    for note in round_robin(specific, most) + round_robin(rest, most)[: max(0, most - len(specific))]:
        line = rewriter.question(note.text, summarizer.context(note))
        tick.step("writing")
        citation = summarizer.cite(note)
        out.append({"question": line.text, "citations": [citation], "rewritten": line.rewritten})
    return out


# --- who's who -------------------------------------------------------------------------------------------
def who_is_who(notes: list, similar_first_names: float) -> list[Actor]:
    """People and bodies named in the sentences read, most mentioned first."""
    mentions = [m for i, note in enumerate(notes) for m in mentions_in(note.text, i)]
    actors = merge(mentions, similar_first_names)
    return sorted(actors, key=lambda a: (-len(a.mentions), a.kind != "person", a.name))


def actor_entry(summarizer, actor: Actor, notes: list) -> dict[str, Any]:
    """Name, other spellings and short forms, role, and the first mention that states them."""
    by_order = sorted(actor.mentions, key=lambda m: (notes[m.sentence].source, notes[m.sentence].start))
    named = [m for m in by_order if m.name == actor.name]
    with_role = [m for m in named if m.role == actor.role] or [m for m in by_order if m.role == actor.role]
    cited = {id(notes[m.sentence]): notes[m.sentence] for m in (with_role[:1] + named[:1])}
    role = actor.role or ("organisation" if actor.kind == "body" else "named in the articles")
    aliases = sorted((set(actor.variants) | actor.aliases) - {actor.name})
    return {
        "name": actor.name,
        "aliases": aliases,
        "role": role,
        "kind": actor.kind,
        "citations": [summarizer.cite(n) for n in sorted(cited.values(), key=lambda n: (n.source, n.start))],
    }


# --- scope and sources -------------------------------------------------------------------------------------
def scope_line(chosen: list, records: list, topic: str | None, stats) -> str:
    dated = sorted(r.date for r in chosen if r.date)
    parts = [
        f"{len(chosen)} articles"
        + (f" (picked from {len(records)} in scope)" if len(chosen) < len(records) else "")
    ]
    if dated:
        parts.append(f"dated {dated[0]} to {dated[-1]}" if dated[0] != dated[-1] else f"dated {dated[0]}")
    if len(dated) < len(chosen):
        parts.append(f"{len(chosen) - len(dated)} without a stated date")
    if topic:
        parts.append(f"topic: {topic}")
    parts.append(
        f"{stats.kept} of {stats.attempted} LLM rewrites kept ({stats.backend})"
        if stats.attempted
        else "no LLM rewrites (quoted sentences)"
    )
    return " · ".join(parts)


def source_list(chosen: list, citations: list) -> list[dict[str, Any]]:
    cited = Counter(c.source for c in citations)
    return [
        {
            "source": r.source,
            "title": r.title,
            "outlet": r.outlet,
            "date": r.date,
            "citations": cited[r.source],
        }
        for r in chosen
        if cited[r.source]
    ]
