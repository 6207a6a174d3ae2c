"""The briefing fields of the one settings object (rag/config/settings.py), kept apart to keep each file
readable: ``Settings`` inherits them, so they are read, validated and printed with all the others."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class BriefingSettings(BaseSettings):
    """What shapes a briefing (`brief summarize`)."""

    # --- summaries -----------------------------------------------------------------------------
    summary_points: int = Field(8, ge=5, le=10, description="Headline points in a briefing (5-10).")
    summary_notes_per_doc: int = Field(
        4, ge=1, le=20, description="Key sentences noted per document in the map step."
    )
    summary_max_timeline: int = Field(12, ge=1, le=100, description="Most timeline entries in a briefing.")
    summary_duplicate_similarity: float = Field(
        0.8, ge=0, le=1, description="Cosine similarity above which two briefing points count as repeats."
    )
    summary_bottom_line: int = Field(
        4,
        ge=3,
        le=5,
        description="Bullets in a briefing's bottom line (3-5), each a standalone, cited sentence.",
    )
    summary_point_max_words: int = Field(
        30,
        ge=10,
        le=80,
        description="Longest bottom-line or theme bullet, in words; longer sentences are cut at a clause boundary.",
    )
    summary_max_themes: int = Field(
        4, ge=1, le=10, description="Most themes the developments are grouped into."
    )
    summary_theme_similarity: float = Field(
        0.55,
        ge=0,
        le=1,
        description="Average cosine similarity above which two groups of points join one theme.",
    )
    summary_max_figures: int = Field(8, ge=0, le=50, description="Rows in a briefing's key-figures table.")
    summary_max_actors: int = Field(
        12, ge=0, le=100, description="Entries in a briefing's who's who (the most mentioned first)."
    )
    summary_max_questions: int = Field(5, ge=0, le=20, description="Open questions in a briefing.")
    summary_max_undated: int = Field(
        4,
        ge=0,
        le=20,
        description="Events from undated articles listed (apart, not on the timeline) when their sentence gives no year.",
    )
    summary_max_docs: int = Field(
        40,
        ge=1,
        le=1000,
        description="Articles read closely for one briefing; over this, the most relevant to the topic (or, without one, the most representative and varied) are picked from the stored chunk vectors.",
    )
    summary_key_fact_bonus: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Score added to a sentence that carries numbers or names (they make a briefing).",
    )
    summary_min_words: int = Field(
        6, ge=1, le=50, description="Shortest sentence, in words, that can become a briefing entry."
    )
    summary_rewrite: bool = Field(
        True,
        description="Let the LLM rewrite chosen sentences into standalone points and questions (each verified; off: trimmed source sentences only).",
    )
    summary_rewrite_max_tokens: int = Field(
        64, ge=16, le=512, description="Most tokens the LLM may write for one rewritten point or question."
    )
    summary_max_rewrites: int = Field(
        8,
        ge=0,
        le=1000,
        description="Most LLM calls (point and question rewrites) in one briefing; past it the trimmed source sentences stand. Bounds a briefing's time on a slow local model (each call costs seconds on the embedded default).",
    )
    summary_rewrite_budget_s: float = Field(
        60.0,
        ge=0,
        description="Seconds of LLM calls one briefing may spend on rewrites; past it the trimmed source sentences stand. Keeps a seeds briefing within two minutes on the embedded default on a busy machine; a server model answers many calls within it.",
    )
    summary_rewrite_patience: int = Field(
        2,
        ge=1,
        le=100,
        description="Stop asking the LLM for one kind of rewrite (points, questions) after this many drafts of that kind in a row were rejected: the model cannot do it on this material, and each call costs seconds on the embedded default.",
    )
    summary_repeated_ngram: int = Field(
        4,
        ge=2,
        le=20,
        description="A draft repeating any run of this many words is a model loop, not a rewrite, and is rejected.",
    )
    summary_context_sentences: int = Field(
        2,
        ge=0,
        le=10,
        description="Sentences before a chosen one searched for the person a 'he'/'she' refers to; the verifier also takes names from them.",
    )
    summary_subject_words: int = Field(
        2,
        ge=0,
        le=10,
        description="A person named within this many words of a sentence's start (after a title such as 'President') is that sentence's subject, the one a following 'he'/'she' refers to.",
    )
    summary_similar_first_names: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Who's who: two names with the same surname are one person when their first names are at least this similar (difflib ratio: 'Antony'/'Anthony' 0.92, 'Joe'/'Jill' 0.29).",
    )
    summary_label_phrases: int = Field(
        2,
        ge=1,
        le=5,
        description="Phrases (one word or two adjacent words, sharing no word) in a theme's label: a label names a theme at a glance.",
    )
    summary_label_min_chars: int = Field(
        4, ge=1, le=20, description="Shortest word, in characters, that can label a theme."
    )
    summary_label_common_zipf: float = Field(
        5.0,
        ge=0,
        le=8,
        description="Words at least this common in English (wordfreq Zipf scale: 'close', 'able', 'although') never label a theme.",
    )
    summary_name_label_weight: float = Field(
        0.5,
        ge=0,
        le=2,
        description="Weight of a proper name among a theme's label terms: a theme is better named by what happens ('aid', 'visas') than by who is in it.",
    )
    summary_what_max_words: int = Field(
        4,
        ge=1,
        le=20,
        description="Key figures: most words kept after a figure to say what it counts ('$310 million in additional aid' -> 'additional aid').",
    )
    summary_min_trimmed_words: int = Field(
        6,
        ge=1,
        le=50,
        description="A clause-boundary cut of a long sentence must keep at least this many words; otherwise the sentence is kept whole.",
    )

    # --- timelines (rag/briefings/timeline.py: the briefing's timeline, timeline answers, `brief eval --tls`) ----
    timeline_publication_weight: float = Field(
        0.5,
        ge=0,
        le=10,
        description="Timeline day ranking: weight of the share of articles published on a day, beside the share of sentences naming it (0: mentions alone, the date-wise method's unsupervised ranker). Chosen on the Timeline17 choosing topics (eval/sets/splits.json).",
    )
    timeline_later_weight: float = Field(
        2.0,
        ge=0,
        le=10,
        description="Timeline day ranking: weight of the share of mentions of a day written in articles published after it (an event still referred to later mattered). Chosen on the Timeline17 choosing topics.",
    )
    timeline_spread_weight: float = Field(
        1.0,
        ge=0,
        le=10,
        description="Timeline day ranking: days are taken greedily by their score (a share of the best) less this weight x exp(-days to the nearest day already taken / timeline_spread_days), so milestones spread over the story's span instead of crowding one busy week (0: no spreading). Chosen on the Timeline17 choosing topics (`python -m bench.tls choose --vary spread`).",
    )
    timeline_spread_days: float = Field(
        120.0,
        ge=1,
        le=3650,
        description="Timeline day ranking: how far apart, in days, two days must be for the second to lose little to the first (the scale of timeline_spread_weight's penalty). Chosen with it.",
    )
    timeline_lead_sentences: int = Field(
        5,
        ge=0,
        le=50,
        description="An article's first sentences naming no day are candidates for the day it was published (news leads report that day's event); 5 as in Gholipour Ghalandari & Ifrim (2020).",
    )
    timeline_publication_days: int = Field(
        2,
        ge=1,
        le=7,
        description="Opening sentences are candidates for the day an article was published and the days before it, this many days in all (a report often appears the day after the event); 2 as in Gholipour Ghalandari & Ifrim (2020).",
    )
    timeline_max_sentence_words: int = Field(
        35,
        ge=0,
        le=500,
        description="A timeline day quotes its candidate sentences of at most this many words first, longer ones only when those run out (0: no limit). Journalists' timeline entries are terse; chosen on the Timeline17 choosing topics (`python -m bench.tls choose --vary length`).",
    )
    timeline_duplicate_similarity: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Tf-idf cosine similarity above which two sentences of one timeline day count as saying the same thing (the second is skipped).",
    )
    timeline_max_docs: int = Field(
        1000,
        ge=1,
        le=100000,
        description="Most articles a timeline over the whole store reads (timeline answers, `brief eval --tls`); over this, the latest ones. Tf-idf over them is built per timeline.",
    )
    timeline_subject_chunks: int = Field(
        300,
        ge=1,
        le=10000,
        description="A timeline about a subject quotes sentences of at most this many chunks nearest to it (cosine at least min_relevance).",
    )
    changes_answer_similarity: float = Field(
        0.6,
        ge=0,
        le=1,
        description="`summarize --changes-since`: an earlier open question counts as answered by a later sentence that states (not plans) something at least this close to it (embedding cosine). A product default set by reading examples, not fitted: no labelled set of answered questions exists yet.",
    )
