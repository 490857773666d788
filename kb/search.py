"""Search as the engineer meets it: ranked runbooks with the section that matched, facets,
spelling corrections, past incidents and type-ahead suggestions.

The query is understood by kb.search_query (pure), ranked by kb.search_index (FTS5 on SQLite,
tsvector on PostgreSQL); this module reads what a page shows, in a number of queries that
does not grow with the data: synonyms, vocabulary (only for words no runbook contains),
ranking, the top runbooks, their matching sections and alert names, past incidents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString
from rapidfuzz.distance import Indel

from kb.fragments import cached, cached_html, fragment_key
from kb.models import (
    Runbook,
    RunbookAlert,
    SearchDocument,
    SearchEntry,
    SearchSection,
    SearchSynonym,
)
from kb.rendering import markdown_plain_text
from kb.search_index import (
    MAX_RANKED,
    document_frequency,
    known_stems,
    nearest_titles,
    rank,
    spelling_candidates,
)
from kb.search_query import (
    ParsedQuery,
    clip,
    fragment_count,
    highlight,
    is_english_word,
    match_count,
    nearest_words,
    parse_query,
    stem,
    words,
)

PER_PAGE = 10
MAX_FACETS = 12
SUGGESTIONS = 5
MATCH_CHARS = 4000
# Only so many unknown words are looked up for a correction: each costs a vocabulary query.
MAX_CORRECTIONS = 4


@dataclass(frozen=True)
class RunbookRow:
    """What a result shows of a runbook (read as values: a hundred model instances per
    search cost more than the ranking)."""

    pk: int
    slug: str
    title: str
    category: str
    tags: object  # stored JSON: a list of strings when well formed

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags if isinstance(t, str)] if isinstance(self.tags, list) else []


@dataclass(frozen=True)
class RunbookResult:
    """One ranked runbook: where it matched (section name and highlighted snippet) and
    the alert names it covers."""

    runbook: RunbookRow
    section: str
    snippet: SafeString
    alerts: list[str]


@dataclass(frozen=True)
class Facet:
    value: str
    count: int
    selected: bool
    url: str  # this search with the facet toggled, first page


@dataclass
class RunbookSearch:
    """What the search page shows for one query.

    ``searched`` is the text actually searched: ``q`` with misspelt words (ones no runbook
    contains) replaced by the nearest word of the index; ``corrected`` says it differs.
    ``results`` is the current page of at most ``MAX_RANKED`` ranked runbooks (``page``),
    after the category/tag filter; facets count the unfiltered ranking. ``nearest`` holds
    runbook titles close to ``q`` when nothing matched.
    """

    q: str
    searched: str
    query: ParsedQuery
    category: str = ""
    tag: str = ""
    exact: bool = False
    page: Page | None = None
    results: list[RunbookResult] = field(default_factory=list)
    categories: list[Facet] = field(default_factory=list)
    tags: list[Facet] = field(default_factory=list)
    incidents: list = field(default_factory=list)
    nearest: list[Runbook] = field(default_factory=list)

    @property
    def corrected(self) -> bool:
        return self.searched != self.q

    @property
    def ignored(self) -> list[str]:
        """The noise dropped from the query, each once, in typed order."""
        return list(dict.fromkeys(self.query.dropped))

    @property
    def total(self) -> int:
        return self.page.paginator.count if self.page else 0

    def url(self, **changes: str | int) -> str:
        """``?query`` of this search with ``changes`` (an empty value drops a parameter),
        on its first page unless ``page`` is given."""
        params = {
            "q": self.q,
            "category": self.category,
            "tag": self.tag,
            "exact": "1" if self.exact else "",
            **changes,
        }
        return "?" + urlencode({k: v for k, v in params.items() if v})

    @property
    def corrected_url(self) -> str:
        return self.url(q=self.searched, exact="")

    @property
    def as_typed_url(self) -> str:
        return self.url(exact="1")

    @property
    def unfiltered_url(self) -> str:
        return self.url(category="", tag="")

    @property
    def previous_url(self) -> str:
        return self.url(page=self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.url(page=self.page.next_page_number()) if self.page.has_next() else ""


def clean(q: str) -> str:
    """``q`` clipped to MAX_QUERY_CHARS (kb.search_query.clip), NUL (which PostgreSQL
    refuses) as a space."""
    return clip(q).replace("\x00", " ")


def synonym_groups() -> list[tuple[str, ...]]:
    """The enabled synonym groups (admin-editable): one cache read, and one query when they
    changed (``synonyms_changed``) or this process has not read them for FRAGMENT_SECONDS."""

    def read() -> list[tuple[str, ...]]:
        return [
            group
            for group in (s.group() for s in SearchSynonym.objects.filter(enabled=True))
            if len(group) > 1
        ]

    return cached(fragment_key("search-synonyms", cache.get(SYNONYMS_VERSION_KEY, 0)), read)


def understood(q: str, *, exact: bool = False, version: object = None) -> tuple[str, ParsedQuery]:
    """(text searched, its parsed query): ``q`` with each misspelt word replaced by the
    closest word of the index or of a synonym group, unless ``exact``. A word counts as
    misspelt when no runbook contains it (nor a synonym of it) and it is not English.
    ``version``: the runbooks' version, under which document frequencies (the tie-break
    between equally near words) may be cached."""
    synonyms = synonym_groups()
    query = parse_query(q, synonyms=synonyms)
    if exact or query.is_empty:
        return q, query
    group_words = {w for group in synonyms for w in group if w.isalpha()}
    unknown = [
        term
        for term in query.terms
        if (word := term.text.lower()).isalpha()
        and len(word) >= 4
        and word not in group_words
        and not is_english_word(word)
        # A word plus one letter is a name ("systemd", "containerd"), not a slip.
        and not is_english_word(word[:-1])
    ]
    known = known_stems(query.stems()) if unknown else set()
    replacements: dict[str, str] = {}
    for term in unknown:
        word = term.text.lower()
        if len(replacements) >= MAX_CORRECTIONS or any(
            stem(w) in known for alt in term.alternatives for w in words(alt)
        ):
            continue
        candidates = [w for w in group_words if abs(len(w) - len(word)) <= 2]
        correction = _correction(
            word, candidates + spelling_candidates(word), version, frozenset(group_words)
        )
        if correction:
            replacements[term.text] = correction
    if not replacements:
        return q, query
    searched = q
    for typed, correction in replacements.items():
        searched = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", correction, searched, count=1)
    return searched, parse_query(searched, synonyms=synonyms)


def _correction(
    word: str, candidates: list[str], version: object = None, synonyms: frozenset[str] = frozenset()
) -> str | None:
    """The likeliest intended word among ``candidates`` for a misspelt ``word``, or None.

    Four-letter words are only unswapped ("etdc" → "etcd"): one edit away lies another real
    word too often ("saml" → "same"). A candidate that ``word`` merely extends is not a
    correction: "systemd", "containerd" and "etcdserver" are names, not slips. A vocabulary
    word no runbook holds any more (edited away) is not offered; a synonym-group word is.
    """
    frequency = {
        w: document_frequency(SearchDocument.Kind.RUNBOOK, w, version=version)
        for w in nearest_words(word, candidates)
        if not word.startswith(w) and (len(word) > 4 or sorted(w) == sorted(word))
    }
    tied = [w for w, df in frequency.items() if df or w in synonyms]
    if not tied:
        return None
    # Among equally distant words: letters swapped ("slwo" → "slow"), then letters only
    # dropped or added ("expird" → "expired", not "expiry"), then the commoner word.
    return max(
        tied,
        key=lambda w: (sorted(w) == sorted(word), -Indel.distance(word, w), frequency[w]),
    )


def search_runbooks(
    q: str,
    *,
    category: str = "",
    tag: str = "",
    page: int = 1,
    exact: bool = False,
    version: object = None,
) -> RunbookSearch:
    """Runbooks for a query, best first (see RunbookSearch). Never raises on any text.
    ``version``: the runbooks' version (kb.selectors.kb_version), under which the index's
    statistics may be cached (kb.search_index.rank)."""
    q = clean(q)
    searched, query = understood(q, exact=exact, version=version)
    found = RunbookSearch(
        q=q, searched=searched, query=query, category=category, tag=tag, exact=exact
    )
    ranked = rank(SearchDocument.Kind.RUNBOOK, query, limit=MAX_RANKED, version=version)
    rows = Runbook.objects.filter(pk__in=[r.ref for r in ranked]).values_list(
        "pk", "slug", "title", "category", "tags"
    )
    runbooks = {row[0]: RunbookRow(*row) for row in rows}
    ordered = [runbooks[r.ref] for r in ranked if r.ref in runbooks]
    found.categories = _facets(found, [rb.category for rb in ordered if rb.category], "category")
    found.tags = _facets(found, [t for rb in ordered for t in rb.tag_list], "tag")
    chosen = [
        rb
        for rb in ordered
        if (not category or rb.category == category) and (not tag or tag in rb.tag_list)
    ]
    found.page = Paginator(chosen, PER_PAGE).get_page(page)
    found.results = _results(list(found.page.object_list), query)
    found.incidents = past_incidents(query)
    if not ordered:
        found.nearest = nearest_titles(q)
    return found


def _facets(found: RunbookSearch, values: list[str], name: str) -> list[Facet]:
    """The first MAX_FACETS values by count (and the selected one), each with its link."""
    selected = getattr(found, name)
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    if selected and selected not in counts:
        counts[selected] = 0
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_FACETS]
    if selected and all(value != selected for value, _count in ordered):
        ordered.append((selected, counts[selected]))

    return [
        Facet(
            value, count, value == selected, found.url(**{name: "" if value == selected else value})
        )
        for value, count in ordered
    ]


def _results(runbooks: list[RunbookRow], query: ParsedQuery) -> list[RunbookResult]:
    ids = [rb.pk for rb in runbooks]
    best: dict[int, tuple[int, str, str]] = {}
    entries = SearchEntry.objects.filter(runbook__in=ids).order_by("weight", "position")
    terms = len(query.terms)  # the most any section can hold
    unmatched: dict[int, list[tuple[str, str]]] = {}
    for runbook_id, section, text in entries.values_list("runbook", "section", "text"):
        so_far = best.get(runbook_id, (0, "", ""))[0]
        if so_far == terms:
            continue  # an earlier (heavier) section already holds every term
        # The snippet shows the start of the match; the first few thousand characters
        # of a long section decide whether it is the one that matched best.
        count = fragment_count(text[:MATCH_CHARS], query)
        if count > so_far:
            best[runbook_id] = (count, section, text)
        elif not so_far:
            unmatched.setdefault(runbook_id, []).append((section, text))
    # A runbook found only through a short word ("db", "pg": too short for the quick
    # substring test) still shows where: its first section that holds a query term.
    for runbook_id, sections in unmatched.items():
        if runbook_id not in best:
            found = next(((s, t) for s, t in sections if match_count(t[:MATCH_CHARS], query)), None)
            if found:
                best[runbook_id] = (1, *found)
    alerts: dict[int, list[str]] = {}
    for runbook_id, name in (
        RunbookAlert.objects.filter(runbook__in=ids)
        .order_by("name")
        .values_list("runbook", "name")
        .distinct()
    ):
        alerts.setdefault(runbook_id, []).append(name)
    results = []
    for rb in runbooks:
        _count, section, text = best.get(rb.pk, (0, "", ""))
        results.append(
            RunbookResult(
                runbook=rb,
                section=SearchSection(section).label if section else "",
                snippet=highlight(markdown_plain_text(text), query) if text else SafeString(""),
                alerts=alerts.get(rb.pk, []),
            )
        )
    return results


def past_incidents(query: ParsedQuery) -> list:
    """Finished sessions matching the query, from ``FIELDGUIDE_PAST_INCIDENTS`` (triage);
    empty when no provider is configured."""
    path = getattr(settings, "FIELDGUIDE_PAST_INCIDENTS", "")
    return import_string(path)(query) if path and not query.is_empty else []


def search_suggestions(q: str) -> list[RunbookRow]:
    """The top runbooks while the query is being typed: the last word may be unfinished,
    so it also matches as a prefix. No spelling correction, no snippets: two queries."""
    q = clean(q)
    query = parse_query(q, synonyms=synonym_groups())
    if query.is_empty:
        # Only ids, numbers or stopwords so far: the full search would find nothing either.
        return []
    unfinished = words(q)[-1] if words(q) and not q[-1:].isspace() else ""
    ranked = rank(SearchDocument.Kind.RUNBOOK, query, limit=SUGGESTIONS, prefix=unfinished)
    rows = Runbook.objects.filter(pk__in=[r.ref for r in ranked]).values_list(
        "pk", "slug", "title", "category", "tags"
    )
    runbooks = {row[0]: RunbookRow(*row) for row in rows}
    return [runbooks[r.ref] for r in ranked if r.ref in runbooks]


SYNONYMS_VERSION_KEY = "search:synonyms-version"


def synonyms_changed(**_signal) -> None:
    """Bump the synonym version (connected to SearchSynonym saves and deletes), so cached
    searches made with the old groups are not reused, in any worker sharing the cache."""
    try:
        cache.incr(SYNONYMS_VERSION_KEY)
    except ValueError:
        cache.set(SYNONYMS_VERSION_KEY, 1, None)


def search_results_html(q: str, *, truncated: bool = False, **params) -> SafeString:
    """The results part of the search page (``search_runbooks(q, **params)`` rendered by
    kb/search.html#search-found), the same for every reader, so rendered once and kept in
    this worker's memory under every version it was made from: the newest runbook change,
    the newest indexed incident and the synonym groups' version (kb.fragments). One query
    and one shared-cache read when cached. ``truncated``: the query was clipped (said so)."""
    runbooks, incidents = index_versions()
    synonyms = cache.get(SYNONYMS_VERSION_KEY, 0)
    parts = (runbooks, incidents, synonyms, clean(q), truncated, sorted(params.items()))

    def render() -> str:
        found = search_runbooks(q, **params, version=runbooks)
        context = {"found": found, "truncated": truncated}
        return render_to_string("kb/search.html#search-found", context)

    return cached_html(fragment_key("search", *parts), render)


def index_versions() -> tuple[object, int | None]:
    """(the newest runbook change, the newest indexed incident's id), in one statement:
    what a cached search was made from besides the synonyms."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT MAX(updated_at) FROM kb_runbook), "
            "(SELECT MAX(id) FROM kb_searchdocument WHERE kind = %s)",
            [SearchDocument.Kind.INCIDENT],
        )
        return cursor.fetchone()
