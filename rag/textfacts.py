"""What a sentence asserts that a source must contain: numbers, dates, names, negations, content words.

Shared by evidence selection, the answerability gate and the verifier so all three read text the
same way.
"""

from __future__ import annotations

import re

from vectorstore.keyword import STOPWORDS, fold, stem, tokenize

NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_WORDS = frozenset(MONTHS + WEEKDAYS)
# Grammatical negation only: verbs like "refused" or "denied" carry meaning a word list cannot judge.
NEGATIONS = frozenset(
    {"not", "no", "never", "neither", "nor", "without", "none", "cannot", "nobody", "nothing", "nowhere"}
)
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand million billion half dozen".split()
)
# General abbreviations of news copy whose letters are not the initials of a capitalised run in the
# text (initials such as 'APEC' are found by `acronyms`); each side counts as the other.
ALIASES = {
    "u.s.": "united states",
    "us": "united states",
    "u.n.": "united nations",
    "un": "united nations",
    "u.k.": "united kingdom",
    "uk": "united kingdom",
    "e.u.": "european union",
    "eu": "european union",
}
NAME_PREFIX = 5  # "Mexico" matches "Mexican", "Honduras" matches "Honduran": same entity, other form
# Capitalised words that are roles, titles or sentence furniture, not names a source must repeat.
NOT_NAMES = (
    frozenset(
        """the a an he she it they we i in on at as but and or if his her its their this that these those
    what who whom which when where why how did does do is are was were has have had will would could should
    president vice secretary minister foreign interior governor prime ambassador senator mr mrs ms dr
    also according however meanwhile after before while during since there here our your my us
    u.s us each every both many most more some several""".split()
    )
    | NUMBER_WORDS
)
NAME = re.compile(r"(?<![\w’'])([A-ZÁÉÍÓÚÑ][\w’'\-]*(?:\.[A-Z]\.?)?)")


def numbers(text: str) -> set[str]:
    """Numbers as written without thousands separators: '$310 million' -> {'310'}, '2,000' -> {'2000'}."""
    return {n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)}


def time_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", fold(text)) if w in TIME_WORDS}


def names(text: str) -> set[str]:
    """Folded capitalised words that look like names (people, places, organisations);
    hyphenated names count by their parts ('Asia-Pacific' -> 'asia', 'pacific')."""
    found = set()
    for word in NAME.findall(text):
        for part in re.sub(r"[’']s$", "", fold(word)).split("-"):  # "Mexico's" -> "mexico"
            part = part.strip("’'.")
            if len(part) > 1 and part not in NOT_NAMES and part not in TIME_WORDS and part not in STOPWORDS:
                found.add(part)
    return found


def name_present(name: str, words: set[str]) -> bool:
    if name in words or stem(name) in words:
        return True
    parts = [part for part in re.split(r"[’'.]", name) if part]
    if len(parts) > 1 and all(part in words for part in parts):  # "B'Day", "D.C." read as their letters
        return True
    if len(name) >= NAME_PREFIX and any(w.startswith(name[:NAME_PREFIX]) for w in words):
        return True
    for short, long in ALIASES.items():
        bare, parts = short.replace(".", ""), long.split()
        if name == bare and all(p in words for p in parts):  # claim says U.N., source United Nations
            return True
        if name in parts and bare in words:  # claim says United Nations, source U.N.
            return True
    return False


def expand_aliases(text: str) -> str:
    """Append the long form of known short names so 'U.S.' also reads as 'United States'."""
    folded = fold(text)
    extra = [
        long for short, long in ALIASES.items() if re.search(rf"(?<![\w.]){re.escape(short)}(?![\w])", folded)
    ]
    return text + (" " + " ".join(extra) if extra else "")


def has_negation(text: str) -> bool:
    words = set(re.findall(r"[a-z’']+", fold(text)))
    return bool(words & NEGATIONS) or any(w.endswith(("n't", "n’t")) for w in words)


def content_terms(text: str) -> set[str]:
    return set(tokenize(text))


def word_set(text: str) -> set[str]:
    """Folded words of a text, with light stemming and the acronyms of its capitalised phrases
    ('Asia-Pacific Economic Cooperation' -> 'apec'), for presence checks of names and terms."""
    words = re.findall(r"\w+", fold(text))
    return {stem(w) for w in words} | set(words) | acronyms(text)


CAPITALISED_RUN = re.compile(r"(?:[A-Z][\w’']*(?:[\s-]+(?:of|and|for|the|de)?\s*)?){2,}")


def acronyms(text: str) -> set[str]:
    found = set()
    for run in CAPITALISED_RUN.findall(text):
        initials = "".join(w[0] for w in re.split(r"[\s-]+", run) if w and w[0].isupper())
        if len(initials) >= 2:
            found.add(initials.lower())
    return found


def missing_facts(claim: str, passage: str, context: str) -> list[str]:
    """Facts the claim states that the cited text lacks: numbers and dates must be in the passage
    itself; names may come from its surrounding context (pronouns refer back to them)."""
    missing = missing_numbers_and_dates(claim, passage)
    missing += [f"name {n}" for n in names_absent(claim, passage + " " + context)]
    return missing


def missing_numbers_and_dates(claim: str, passage: str) -> list[str]:
    missing = [f"number {n}" for n in sorted(numbers(claim) - numbers(passage))]
    return missing + [f"date word {w}" for w in sorted(time_words(claim) - time_words(passage))]


def names_absent(claim: str, text: str) -> list[str]:
    """Names of the claim that the text does not contain in any accepted form (alias, acronym, prefix)."""
    words = word_set(expand_aliases(text))
    return [n for n in sorted(names(claim)) if not name_present(n, words)]


# Personal and possessive pronouns: a cited sentence that uses one refers back to a name before it.
PRONOUNS = frozenset("he she they it him her them his hers its their theirs".split())


def pronoun_count(text: str) -> int:
    return sum(1 for w in re.findall(r"[a-z]+", fold(text)) if w in PRONOUNS)


def words_in_order(text: str) -> list[str]:
    """Folded words in reading order, possessive 's dropped (for word positions)."""
    return [re.sub(r"[’']s$", "", w).strip("’'") for w in re.findall(r"[\w’']+", fold(text))]


def same_word(a: str, b: str) -> bool:
    """Two folded words that are forms of one word: equal, same light stem, or the same first
    NAME_PREFIX letters ('national'/'nation', 'Mexico'/'Mexican')."""
    if a == b or stem(a) == stem(b):
        return True
    return len(a) >= NAME_PREFIX and len(b) >= NAME_PREFIX and a[:NAME_PREFIX] == b[:NAME_PREFIX]


def new_terms(claim: str, text: str) -> list[str]:
    """Content words of the claim (names and numbers aside: they are checked as facts) that the text
    lacks in every form: words the writer brought in, like 'modern' for the source's 'medieval'."""
    facts = {stem(n) for n in names(claim)} | names(claim) | numbers(claim)
    source = set(words_in_order(text)) | content_terms(text)
    found = []
    for term in sorted(content_terms(claim) - facts - content_terms(text)):
        if (
            len(term) > 1
            and term.isalpha()
            and term not in NUMBER_WORDS
            and not any(same_word(term, w) for w in source)
        ):
            found.append(term)
    return found


def negation_dropped(claim: str, passage: str) -> bool:
    """The passage negates a word the claim keeps, and the claim has no negation ('was not elected'
    cited for 'was elected')."""
    if has_negation(claim) or not has_negation(passage):
        return False
    words, kept = words_in_order(passage), set(content_terms(claim))
    for i, w in enumerate(words):
        if w in NEGATIONS or w.endswith("n't") or w.endswith("n’t"):
            # The claim keeps the negated phrase: the word after the negation and the one before it.
            following = [stem(x) for x in words[i + 1 : i + 4] if x not in STOPWORDS]
            preceding = [stem(x) for x in words[max(0, i - 3) : i] if x not in STOPWORDS]
            if following and following[0] in kept and (not preceding or preceding[-1] in kept):
                return True
    return False


def name_positions(name: str, words: list[str]) -> list[int]:
    return [i for i, w in enumerate(words) if same_word(name, w)]


def clause_words(text: str) -> list[str]:
    """Folded words in reading order, with ',' ';' ':' '(' ')' and dashes kept as tokens: names in
    different clauses or appositions ('Oaxaca Governor Salomón Jara' / 'Salomón Jara, the governor
    of Oaxaca') reorder freely, so only names within one clause are compared."""
    return [re.sub(r"[’']s$", "", w).strip("’'") for w in re.findall(r"[\w’']+|[,;:()—–]", fold(text))]


def linked_in_clause(words: list[str], i: int, j: int) -> bool:
    """Whether positions i < j are in one clause and joined by a content word (a verb or noun, as in
    'A hired B'), not only by function words ('A at the B', 'A and B')."""
    between = words[i + 1 : j]
    if any(not w[0].isalnum() for w in between if w):
        return False
    return any(w.isalpha() and w not in STOPWORDS and w not in NEGATIONS for w in between)


def reversed_name_pairs(claim: str, passage: str, passive_aware: bool) -> list[tuple[str, str]]:
    """Pairs of the claim's names, linked within one clause and both in the passage, that the passage
    never links the claim's way round: who did what to whom swapped. With passive_aware, a 'by'
    between the two names in exactly one of the texts ('X was elected by Y' against 'Y elected X')
    means the order should flip."""
    claim_words, passage_words = clause_words(claim), clause_words(passage)
    found = [(n, min(name_positions(n, claim_words), default=-1)) for n in names(claim)]
    placed = sorted((pos, n) for n, pos in found if pos >= 0 and name_positions(n, passage_words))
    reversed_pairs = []
    for i, (pa, a) in enumerate(placed):
        for pb, b in placed[i + 1 :]:
            if not linked_in_clause(claim_words, pa, pb):
                continue
            claim_by = passive_aware and "by" in claim_words[pa + 1 : pb]
            if not order_found(a, b, passage_words, claim_by, passive_aware):
                reversed_pairs.append((a, b))
    return reversed_pairs


def order_found(a: str, b: str, words: list[str], claim_by: bool, passive_aware: bool) -> bool:
    """Whether some occurrence of a and of b in words agrees with the claim's order (a before b),
    counting an order flipped by a passive 'by' on one side only as agreement. Occurrences that are
    not linked within one clause say nothing about roles, so they agree too."""
    for i in name_positions(a, words):
        for j in name_positions(b, words):
            if i == j:
                continue
            lo, hi = sorted((i, j))
            if not linked_in_clause(words, lo, hi):
                return True
            passage_by = passive_aware and "by" in words[lo + 1 : hi]
            if (i < j) == (claim_by == passage_by):
                return True
    return False


def name_runs(words: list[str], known: set[str]) -> list[tuple[int, int]]:
    """(start, end) of maximal runs of name words ('toru minegishi') in a word list."""
    runs, i = [], 0
    while i < len(words):
        if words[i] in known:
            j = i
            while j + 1 < len(words) and words[j + 1] in known:
                j += 1
            runs.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    return runs


def slot(words: list[str], run: tuple[int, int]) -> tuple[str, ...]:
    """The two tokens before and after a run: the place it fills in the sentence."""
    start, end = run
    before = ([""] * 2 + words[:start])[-2:]
    after = (words[end:] + [""] * 2)[:2]
    return tuple(before + after)


SLOT_MATCH = 3  # of the four tokens around a name, how many must agree for two names to share a place


def slot_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    return sum(1 for x, y in zip(a, b) if x and x == y)


def swapped_names(claim: str, passage: str) -> list[tuple[str, str]]:
    """Names of the claim that sit where the passage has another name of the claim ('the village is
    attacked by Link' against '... attacked by Bulblins', both names in both texts): roles swapped,
    whatever the order or clause. A passive rewrite moves the surrounding words too, so it is not hit."""
    claim_words, passage_words = clause_words(claim), clause_words(passage)
    claim_names, passage_names = names(claim), names(passage)
    claim_runs, passage_runs = name_runs(claim_words, claim_names), name_runs(passage_words, passage_names)
    found = []
    for c in claim_runs:
        mine, place = claim_words[c[0] : c[1]], slot(claim_words, c)
        own = [
            p
            for p in passage_runs
            if any(same_word(x, y) for x in claim_words[c[0] : c[1]] for y in passage_words[p[0] : p[1]])
        ]
        own_fit = max((slot_overlap(place, slot(passage_words, p)) for p in own), default=0)
        for p in passage_runs:
            theirs = passage_words[p[0] : p[1]]
            # In lists ('in Australia on March 5; in Japan on March 10') names share slots: a swap
            # needs the other name's slot to fit better than the name's own place in the source.
            fit = slot_overlap(place, slot(passage_words, p))
            if p in own or fit < SLOT_MATCH or fit <= own_fit:
                continue
            other_in_claim = all(any(same_word(y, w) for w in claim_words) for y in theirs)
            mine_in_passage = all(any(same_word(x, w) for w in passage_words) for x in mine)
            if other_in_claim and mine_in_passage:
                found.append((" ".join(mine), " ".join(theirs)))
    return found


def content_neighbours(words: list[str], i: int) -> tuple[str, str]:
    """The nearest content word before and after position i ('' at the sentence's edge)."""

    def is_content(w: str) -> bool:
        return w[:1].isalnum() and w not in STOPWORDS

    before = next((stem(w) for w in reversed(words[:i]) if is_content(w)), "")
    after = next((stem(w) for w in words[i + 1 :] if is_content(w)), "")
    return before, after


def substituted_words(claim: str, passage: str, new_words: list[str]) -> list[tuple[str, str]]:
    """New words of the claim that take the place of a passage word the claim dropped: the same content
    words on both sides ('the medieval town hall' -> 'the modern town hall', 'Mexico agreed to receive'
    -> 'Mexico refused to receive'). A paraphrase rewords around its new words, a swap does not."""
    claim_words, passage_words = clause_words(claim), clause_words(passage)
    kept = {stem(w) for w in claim_words}
    found = []
    for i, w in enumerate(claim_words):
        if stem(w) not in new_words and w not in new_words:
            continue
        place = content_neighbours(claim_words, i)
        for j, v in enumerate(passage_words):
            dropped = v[:1].isalpha() and v not in STOPWORDS and stem(v) not in kept
            if dropped and any(place) and content_neighbours(passage_words, j) == place:
                found.append((w, v))
                break
    return found
