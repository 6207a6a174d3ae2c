"""Timelines: the most important days of a story first chosen, then each day summarised by verbatim
sentences, in date order.

The method is the date-wise approach of Gholipour Ghalandari & Ifrim (2020, "Examining the State of
the Art in News Timeline Summarization"), the usual baseline on Timeline17:
1. Days are ranked by how the articles refer to them: sentences naming the day (every 'April 25',
   'on Tuesday', 'yesterday', resolved against the article's date; rag/briefings/timeline_dates.py), plus,
   weighted by settings, articles published that day and mentions written after the day; then
   re-ranked so that the days taken spread over the story's span (timeline_spread_weight).
2. A day's candidates are the sentences naming it and the opening sentences (naming no day) of
   articles published that day or the next. Candidates far from the day's own vocabulary (what both
   kinds of candidate share, the paper's "PM-Mean" date vector) are dropped at the knee of the
   similarity curve.
3. Candidates longer than timeline_max_sentence_words are taken only when the shorter ones run out
   (journalists' timeline entries are terse; the limit is chosen on the Timeline17 choosing topics).
4. The sentences chosen for a day are those whose sum lies closest to the centre of the candidates
   (tf-idf vectors, greedily; "CentroidOpt"), near-repeats skipped.
Nothing is embedded: tf-idf over the sentences read costs well under a second for a few hundred
articles, so a timeline never waits on the embedding model.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from rag.briefings.timeline_dates import day_mentions
from vectorstore.chunk import split_sentences

Spans = dict[str, list[tuple[int, int]]]  # source -> (start, end) ranges a timeline may quote from


@dataclass(frozen=True)
class DatedStatement:
    """One sentence of a timeline: the day it is filed under and where it is, verbatim."""

    date: str  # YYYY-MM-DD
    text: str  # record.text[start:end]
    source: str
    start: int
    end: int
    articles: int = 0  # articles that name this day or were published on it


@dataclass
class Sentence:
    record: Any  # SourceRecord: .source, .text, .date, .title
    start: int
    end: int
    position: int  # index among its article's sentences
    days: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.record.text[self.start : self.end]


@dataclass
class Reading:
    """The sentences of a set of articles, with what the day ranking and the summaries need."""

    sentences: list[Sentence]
    published: dict[str, str] = field(default_factory=dict)  # source -> publication date
    vectors: Any = None  # tf-idf rows (scipy sparse), aligned with sentences
    _by_day: tuple | None = None  # by_day()'s index, with the lead-sentence count it was built for

    def last_day(self) -> str | None:
        return max(self.published.values(), default=None)

    def by_day(self, lead_sentences: int) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """(day -> sentences naming it, publication day -> its articles' opening sentences naming
        no day), built once: every day of a timeline looks its candidates up here."""
        if self._by_day is None or self._by_day[0] != lead_sentences:
            named, leads = defaultdict(list), defaultdict(list)
            for i, sentence in enumerate(self.sentences):
                for day in sentence.days:
                    named[day].append(i)
                published = self.published.get(sentence.record.source)
                if published and not sentence.days and sentence.position < lead_sentences:
                    leads[published].append(i)
            self._by_day = (lead_sentences, dict(named), dict(leads))
        return self._by_day[1], self._by_day[2]


# --- reading ---------------------------------------------------------------------------------------
def read_sentences(records: list, min_words: int, allowed: Spans | None = None) -> Reading:
    """Every sentence of at least ``min_words`` words (a headline without a full stop is not one),
    with the days it names; ``allowed`` limits them to given sentences (a topic's)."""
    sentences = []
    for record in records:
        for position, span in enumerate(split_sentences(record.text)):
            text = record.text[span.start : span.end]
            if len(text.split()) < min_words or (text == record.title and not text.endswith(".")):
                continue
            if allowed is not None and not inside(span, allowed.get(record.source, ())):
                continue
            days = tuple(dict.fromkeys(m.day for m in day_mentions(text, record.date)))
            sentences.append(Sentence(record, span.start, span.end, position, days))
    published = {r.source: r.date for r in records if r.date}
    return Reading(sentences, published, tfidf_rows([s.text for s in sentences]))


def inside(span, ranges) -> bool:
    return any(start <= span.start and span.end <= end for start, end in ranges)


def tfidf_rows(texts: list[str]):
    """Unit-length tf-idf rows over the sentences read (English stop words left out)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return sparse.csr_matrix((0, 0))
    try:
        return TfidfVectorizer(stop_words="english", lowercase=True).fit_transform(texts).tocsr()
    except ValueError:  # nothing but stop words
        return sparse.csr_matrix((len(texts), 1))


# --- which days --------------------------------------------------------------------------------------
def rank_days(
    reading: Reading, s, since: str | None = None, until: str | None = None
) -> list[tuple[str, int]]:
    """Days from ``since`` to ``until`` (default: up to the last article's date; later days are
    plans, not events), most important first, each with the number of articles naming it or
    published on it. Importance: the share of day mentions, plus ``timeline_publication_weight`` x
    the share of articles published that day, plus ``timeline_later_weight`` x the share of
    mentions written after the day (an event still referred to later mattered)."""
    first, last = since or "0000-00-00", min(until or "9999-99-99", reading.last_day() or "9999-99-99")
    c = count_days(reading)
    score = {
        day: share(c.mentions, day)
        + s.timeline_publication_weight * share(c.published, day)
        + s.timeline_later_weight * share(c.later, day)
        for day in set(c.mentions) | set(c.published)
        if first <= day <= last
    }
    ranked = sorted(score, key=lambda d: (-score[d], d))
    ranked = spread_over_time(ranked, score, s.timeline_spread_weight, s.timeline_spread_days)
    return [(day, len(c.naming[day])) for day in ranked]


def spread_over_time(ranked: list[str], score: dict[str, float], weight: float, scale: float) -> list[str]:
    """The days re-ranked greedily, each next one by its score (as a share of the best) less
    ``weight`` x exp(-days to the nearest day already taken / ``scale``): a story's milestones are
    spread over its span, while the days of one busy week all score alike (the temporal diversity
    of Martschat & Markert 2018). 0: the scores' order as it is."""
    if weight <= 0 or len(ranked) < 2:
        return ranked
    ordinal = np.array([date.fromisoformat(d).toordinal() for d in ranked], dtype=float)
    value = np.array([score[d] for d in ranked])
    value = value / max(float(value.max()), 1e-12)
    near, left, order = np.zeros(len(ranked)), np.ones(len(ranked), dtype=bool), []
    for _ in ranked:
        best = int(np.argmax(np.where(left, value - weight * near, -np.inf)))  # ties: the earlier rank
        order.append(ranked[best])
        left[best] = False
        near = np.maximum(near, np.exp(-np.abs(ordinal - ordinal[best]) / scale))
    return order


@dataclass
class DayCounts:
    mentions: Counter = field(default_factory=Counter)  # sentences naming the day
    later: Counter = field(default_factory=Counter)  # ... in articles published after it
    published: Counter = field(default_factory=Counter)  # articles published that day
    naming: dict = field(default_factory=lambda: defaultdict(set))  # articles naming it or published on it


def count_days(reading: Reading) -> DayCounts:
    c = DayCounts()
    for sentence in reading.sentences:
        written = reading.published.get(sentence.record.source)
        for day in sentence.days:
            c.mentions[day] += 1
            c.later[day] += bool(written and written > day)
            c.naming[day].add(sentence.record.source)
    for source in {x.record.source for x in reading.sentences}:
        if source in reading.published:  # articles with a sentence read (about the subject, if any)
            c.published[reading.published[source]] += 1
            c.naming[reading.published[source]].add(source)
    return c


def share(counts: Counter, key: str) -> float:
    total = sum(counts.values())
    return counts[key] / total if total else 0.0


# --- what each day says -------------------------------------------------------------------------------
def candidates(reading: Reading, day: str, s) -> tuple[list[int], list[int]]:
    """(sentences naming the day, opening sentences naming no day of articles published that day or
    within timeline_publication_days - 1 days after it), as indexes into reading.sentences."""
    named, leads = reading.by_day(s.timeline_lead_sentences)
    after = [
        (date.fromisoformat(day) + timedelta(days=k)).isoformat() for k in range(s.timeline_publication_days)
    ]
    return named.get(day, []), sorted(i for d in after for i in leads.get(d, []))


def on_topic_of_day(reading: Reading, named: list[int], opening: list[int]) -> list[int]:
    """The candidates close to the day's own vocabulary: the words both kinds of candidate use
    (each kind's mean tf-idf, kept where both are non-zero), cut at the knee of the sorted
    similarities. With one kind only, all of them."""
    if not named or not opening:
        return named or opening
    X = reading.vectors
    mean_named = np.asarray(X[named].mean(axis=0)).ravel()
    mean_opening = np.asarray(X[opening].mean(axis=0)).ravel()
    centre = np.where((mean_named > 0) & (mean_opening > 0), mean_named + mean_opening, 0.0)
    norm = float(np.linalg.norm(centre))
    if norm == 0:
        return named + opening
    pool = named + opening
    similarity = np.asarray(X[pool] @ (centre / norm)).ravel()
    threshold = np.sort(similarity)[::-1][knee(np.sort(similarity)[::-1])]
    kept = [i for i, sim in zip(pool, similarity) if sim > 0 and sim > threshold]
    return kept or pool


def knee(values: np.ndarray) -> int:
    """Index of the point of a descending curve farthest from the line joining its ends."""
    n = len(values)
    if n < 3:
        return n - 1
    points = np.column_stack([np.arange(n), values])
    line = points[-1] - points[0]
    line = line / max(float(np.linalg.norm(line)), 1e-12)
    offsets = points - points[0]
    distance = np.linalg.norm(offsets - np.outer(offsets @ line, line), axis=1)
    return int(np.argmax(distance))


def centroid_pick(reading: Reading, pool: list[int], k: int, used: set[str], duplicate: float) -> list[int]:
    """Up to k sentences of the pool whose sum is closest to the pool's centre (greedy), none a
    near-repeat of one already chosen or a sentence already on the timeline."""
    X = reading.vectors[pool]
    centre = np.asarray(X.sum(axis=0)).ravel()
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    toward = np.asarray(X @ centre).ravel()
    chosen: list[int] = []
    total = np.zeros(X.shape[1])
    while len(chosen) < k:
        cross = np.asarray(X @ total).ravel()
        length = np.sqrt(np.maximum(float(total @ total) + 2 * cross + 1.0, 1e-12))
        gain = (float(total @ centre) + toward) / length
        for j in chosen:
            gain[j] = -np.inf
        best = next(
            (
                j
                for j in np.argsort(-gain, kind="stable")
                if acceptable(reading, pool, X, j, chosen, used, duplicate, gain)
            ),
            None,
        )
        if best is None:
            break
        chosen.append(int(best))
        total = total + X[best].toarray().ravel()
    return [pool[j] for j in chosen]


def acceptable(reading, pool, X, j, chosen, used, duplicate, gain) -> bool:
    if not np.isfinite(gain[j]) or reading.sentences[pool[j]].text in used:
        return False
    return all(float((X[j] @ X[c].T).toarray()[0, 0]) <= duplicate for c in chosen)


def by_length(reading: Reading, pool: list[int], max_words: int) -> tuple[list[int], list[int]]:
    """(the pool's sentences of at most ``max_words`` words, the longer ones); 0: no limit."""
    if not max_words:
        return pool, []
    fits = [len(reading.sentences[i].text.split()) <= max_words for i in pool]
    return [i for i, ok in zip(pool, fits) if ok], [i for i, ok in zip(pool, fits) if not ok]


def pick_for_day(reading: Reading, pool: list[int], k: int, used: set[str], s, pick) -> list[int]:
    """Up to k sentences for a day: picked among its short candidates first, then topped up from the
    longer ones, so timeline_max_sentence_words shortens entries without costing a day or a sentence."""
    duplicate = s.timeline_duplicate_similarity
    short, longer = by_length(reading, pool, s.timeline_max_sentence_words)
    chosen = pick(reading, short, k, used, duplicate) if short else []
    if len(chosen) < k and longer:
        # the short ones already chosen are near-repeat checked against, as within one pick
        longer = [i for i in longer if not repeats(reading, i, chosen, duplicate)]
        taken = used | {reading.sentences[i].text for i in chosen}
        chosen += pick(reading, longer, k - len(chosen), taken, duplicate) if longer else []
    return chosen


def repeats(reading: Reading, i: int, chosen: list[int], duplicate: float) -> bool:
    """Whether sentence i is a near-repeat (tf-idf cosine over ``duplicate``) of one already chosen."""
    if not chosen:
        return False
    return float((reading.vectors[chosen] @ reading.vectors[i].T).max()) > duplicate


def first_pick(reading: Reading, pool: list[int], k: int, used: set[str], duplicate: float) -> list[int]:
    """The first k sentences of the pool in reading order (the chance row of `brief eval --tls`)."""
    return [i for i in sorted(pool) if reading.sentences[i].text not in used][:k]


def select_timeline(
    records: list, n_dates: int, per_date: int, s, allowed: Spans | None = None, since=None, until=None
) -> list[DatedStatement]:
    """The timeline of these articles: n_dates days from ``since`` to ``until`` (YYYY-MM-DD or None),
    up to per_date sentences each, in date order (sentences of a day in the order chosen). ``s`` is
    the Settings object."""
    reading = read_sentences(records, s.summary_min_words, allowed)
    return summarise_days(reading, rank_days(reading, s, since, until), n_dates, per_date, s)


def summarise_days(
    reading: Reading, days: list[tuple[str, int]], n_dates: int, per_date: int, s, pick=centroid_pick
) -> list[DatedStatement]:
    """Days taken in the order given, each summarised by ``pick``, until n_dates days have a
    sentence (a day whose candidates are all used or filtered out is passed over)."""
    out: list[DatedStatement] = []
    used: set[str] = set()
    for day, articles in days:
        if len({x.date for x in out}) >= n_dates or per_date < 1:
            break
        named, opening = candidates(reading, day, s)
        pool = on_topic_of_day(reading, named, opening)
        for i in pick_for_day(reading, pool, per_date, used, s, pick):
            sentence = reading.sentences[i]
            used.add(sentence.text)
            out.append(
                DatedStatement(
                    day, sentence.text, sentence.record.source, sentence.start, sentence.end, articles
                )
            )
    return sorted(out, key=lambda x: x.date)  # stable: a day's sentences keep their order


# --- over a desk -------------------------------------------------------------------------------------
def dated_statements(
    desk, subject: str | None, n_dates: int, per_date: int, scope=None
) -> list[DatedStatement]:
    """The timeline of the ingested articles in ``scope`` (rag.questions.retrieve.Scope), about ``subject`` when
    given (only sentences of chunks whose vectors are close to it count, so 'migration' finds
    'migrants'), ``n_dates`` days of up to ``per_date`` verbatim sentences each, in date order.
    Reads at most timeline_max_docs articles (the latest ones over that)."""
    from rag.questions.retrieve import Scope

    scope = scope or Scope()
    allowed = subject_spans(desk, subject, scope) if subject and subject.strip() else None
    records = records_in_scope(desk, scope, None if allowed is None else set(allowed))
    return select_timeline(records, n_dates, per_date, desk.settings, allowed, scope.since, scope.until)


def records_in_scope(desk, scope, sources: set[str] | None = None) -> list:
    """The articles in scope (only ``sources`` when given) with their text, oldest first; the latest
    timeline_max_docs of them."""
    wanted = [
        r
        for r in desk.sources()
        if scope.allows(r.source, r.date) and (sources is None or r.source in sources)
    ]
    wanted = sorted(wanted, key=lambda r: (r.date or "", r.source))[-desk.settings.timeline_max_docs :]
    texts = desk.source_records(r.source for r in wanted)
    return [texts[r.source] for r in wanted if r.source in texts]


def subject_spans(desk, subject: str, scope) -> Spans:
    """The places of the chunks nearest to the subject (cosine at least min_relevance, at most
    timeline_subject_chunks of them): a timeline about it quotes sentences inside them."""
    s = desk.settings
    vector = desk.embedder.embed([subject])[0]
    rows, similarities = desk.store.nearest(vector, s.timeline_subject_chunks, scope.chunk_filter())
    spans: Spans = defaultdict(list)
    for chunk, similarity in zip(rows.chunks, similarities):
        if similarity >= s.min_relevance:
            spans[chunk.source].append((chunk.start, chunk.end))
    return dict(spans)
