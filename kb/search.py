"""Search terms and highlighted snippets. Pure."""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_TERMS = 6


def search_terms(query: str) -> list[str]:
    """Words of a query, longest first, without duplicates; quotes group a phrase."""
    phrases = re.findall(r'"([^"]+)"', query)
    words = re.sub(r'"[^"]*"', " ", query).split()
    terms: list[str] = []
    for term in [p.strip() for p in phrases] + words:
        if term and term.lower() not in (t.lower() for t in terms):
            terms.append(term)
    return terms[:MAX_TERMS]


def highlight(text: str, terms: list[str], width: int = 180) -> SafeString:
    """An escaped snippet of ``text`` around the first match, every match in <mark>."""
    if not terms:
        return mark_safe(escape(text[:width]))  # noqa: S308
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    first = pattern.search(text)
    start = 0
    if first and first.start() > width // 3:
        start = text.rfind(" ", 0, first.start() - width // 3) + 1
    end = min(len(text), start + width)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    snippet = text[start:end]
    pieces, last = [], 0
    for m in pattern.finditer(snippet):
        pieces.append(escape(snippet[last : m.start()]))
        pieces.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    pieces.append(escape(snippet[last:]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + "".join(pieces) + suffix)  # noqa: S308
