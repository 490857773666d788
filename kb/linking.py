"""Propose links from patterns, checks and fixes to the causes they point at. Pure.

A proposal is only a starting point: editors confirm or change links, and recorded triage
sessions refine them. Word overlap is crude but predictable, which matters more here than
cleverness — an editor must be able to see why a link was proposed.
"""

import re

STOPWORDS = frozenset(
    "a an and are as at be but by can check confirm do does for from has have how if in into "
    "is it its may new no not of on only or other some such than that the then this to was "
    "were what when where whether which while who why will with without any all first there "
    "their they them after before during still being been".split()
)

SYNONYMS = {
    "env": "environment",
    "envs": "environment",
    "db": "database",
    "config": "configuration",
    "cfg": "configuration",
    "deps": "dependency",
    "k8s": "kubernetes",
}


def stem(word: str) -> str:
    word = SYNONYMS.get(word, word)
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {stem(w) for w in words if w not in STOPWORDS and len(w) > 1}


def propose_cause_links(text: str, causes: list[tuple[str, str]]) -> list[str]:
    """Keys of the causes whose words overlap ``text`` best, most overlapping first.

    A cause is proposed when it shares at least two terms with the text, or when it is the
    single best match with at least one shared term.
    """
    words = terms(text)
    scored = []
    for position, (key, cause_text) in enumerate(causes):
        shared = len(words & terms(cause_text))
        if shared:
            scored.append((-shared, position, key))
    scored.sort()
    if not scored:
        return []
    best = -scored[0][0]
    chosen = [key for neg, _pos, key in scored if -neg >= 2]
    if not chosen:
        chosen = [key for neg, _pos, key in scored if -neg == best][:1]
    return chosen[:3]
