"""The full-text index behind search, on PostgreSQL and on SQLite, behind one API.

Documents (kb.models.SearchDocument) carry their text in four weights. Writers call
``index_document`` inside their own transaction, so the index changes with the runbook or
session it describes or not at all. ``rank`` scores one kind of document for a parsed query
(kb.search_query) with BM25:

- SQLite: the document's FTS5 table (tokenizer ``porter unicode61 remove_diacritics 2``)
  and its built-in ``bm25()`` with per-column weights.
- PostgreSQL: the stored tsvector (``english`` configuration, GIN-indexed) and, per query
  term, ``ts_rank`` (which saturates with repeated occurrences and, with normalization 1,
  divides by the log of the document's length) multiplied by the term's BM25 inverse
  document frequency, ``ln(1 + (N - df + 0.5) / (df + 0.5))`` (Robertson & Zaragoza, "The
  Probabilistic Relevance Framework: BM25 and Beyond", 2009, eq. 3.3). The kind's size and
  the terms' document frequencies come from one statement, the scores from a second; both
  read the kind's own partial GIN index (the term queries sit in a MATERIALIZED CTE so the
  planner does not scan the table), and the vector is stored inside its row (no TOAST
  fetch per ``@@``). Terms are combined with OR: a document needs only one of them.

Term weights are the same on both: title and alert names A (1.0), symptom, patterns, causes
and signal examples B (0.4), checks, fixes and pivots C (0.2), everything else D (0.1).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.cache import caches
from django.db import connection
from django.db.models import Max

from kb.fragments import FRAGMENT_SECONDS, cached, fragment_key
from kb.models import Runbook, SearchDocument, SearchWord
from kb.search_query import ParsedQuery, fts5_match, index_text, stem, words

FTS_TABLES = {
    SearchDocument.Kind.RUNBOOK: "kb_search_runbook_fts",
    SearchDocument.Kind.INCIDENT: "kb_search_incident_fts",
}
# FTS5 bm25() weights, one per column (title, alerts, body_b, body_c, body_d): A, A, B, C, D.
FTS5_WEIGHTS = (1.0, 1.0, 0.4, 0.2, 0.1)
# ts_rank weights, in PostgreSQL's order {D, C, B, A}.
PG_WEIGHTS = [0.1, 0.2, 0.4, 1.0]
PG_CONFIG = "english"
# A tsvector holds at most 1 MB; runbooks are far smaller, but a document is capped anyway.
MAX_FIELD_CHARS = 100_000
# Ranking stops here: results beyond the hundredth are never read.
MAX_RANKED = 100
# Words kept in the vocabulary for "did you mean".
VOCABULARY_LENGTHS = range(3, 31)


@dataclass(frozen=True)
class DocumentText:
    """A document's text by weight: A (title, alerts), B, C, D."""

    title: str = ""
    alerts: str = ""
    primary: str = ""
    secondary: str = ""
    other: str = ""

    def fields(self) -> dict[str, str]:
        # index_text adds the pieces of identifiers (KubePodCrashLooping → kube pod crash
        # looping) so that both engines' tokenizers find them.
        return {
            name: index_text(getattr(self, name)[:MAX_FIELD_CHARS])
            for name in ("title", "alerts", "primary", "secondary", "other")
        }


@dataclass(frozen=True)
class Ranked:
    """One document in a ranking: its row, what it describes, and its BM25 score (> 0)."""

    document_id: int
    ref: int
    runbook_id: int
    score: float


def index_document(*, kind: str, ref: int, runbook_id: int, text: DocumentText) -> None:
    """Write (or rewrite) one document and its full-text entry. Call inside the writer's
    transaction. ``kind`` is a SearchDocument.Kind; ``ref`` the runbook's or session's id."""
    fields = text.fields()
    # Not update_or_create: its savepoint and locking read cost more than the whole write,
    # and the writer's transaction already holds the runbook's (or session's) row lock.
    pk = SearchDocument.objects.filter(kind=kind, ref=ref).values_list("pk", flat=True).first()
    if pk is None:
        pk = SearchDocument.objects.create(kind=kind, ref=ref, runbook_id=runbook_id, **fields).pk
    else:
        SearchDocument.objects.filter(pk=pk).update(runbook_id=runbook_id, **fields)
    if connection.vendor == "postgresql":
        SearchDocument.objects.filter(pk=pk).update(vector=_pg_vector())
    elif connection.vendor == "sqlite":
        table = FTS_TABLES[kind]
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE rowid = %s", [pk])  # noqa: S608
            cursor.execute(
                f"INSERT INTO {table} (rowid, title, alerts, body_b, body_c, body_d) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [pk, *fields.values()],
            )
    if kind == SearchDocument.Kind.RUNBOOK:
        _add_vocabulary(fields.values())


def index_new_documents(kind: str, rows: list[tuple[int, int, DocumentText]]) -> None:
    """Bulk ``index_document`` for documents not indexed yet: (ref, runbook id, text) each.
    For bulk loads (generated history); a document already indexed raises IntegrityError."""
    for start in range(0, len(rows), 1000):
        documents = SearchDocument.objects.bulk_create(
            [
                SearchDocument(kind=kind, ref=ref, runbook_id=runbook_id, **text.fields())
                for ref, runbook_id, text in rows[start : start + 1000]
            ]
        )
        if connection.vendor == "postgresql":
            pks = [d.pk for d in documents]
            SearchDocument.objects.filter(pk__in=pks).update(vector=_pg_vector())
        elif connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {FTS_TABLES[kind]} "  # noqa: S608
                    "(rowid, title, alerts, body_b, body_c, body_d) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    [(d.pk, d.title, d.alerts, d.primary, d.secondary, d.other) for d in documents],
                )


def set_alerts(*, kind: str, ref: int, alerts: str) -> None:
    """Rewrite one document's alert names (weight A), leaving the rest as indexed."""
    document = SearchDocument.objects.filter(kind=kind, ref=ref).first()
    if document is None:
        return
    index_document(
        kind=kind,
        ref=ref,
        runbook_id=document.runbook_id,
        text=DocumentText(
            title=document.title,
            alerts=alerts,
            primary=document.primary,
            secondary=document.secondary,
            other=document.other,
        ),
    )


def _pg_vector() -> SearchVector:
    return (
        SearchVector("title", "alerts", weight="A", config=PG_CONFIG)
        + SearchVector("primary", weight="B", config=PG_CONFIG)
        + SearchVector("secondary", weight="C", config=PG_CONFIG)
        + SearchVector("other", weight="D", config=PG_CONFIG)
    )


_batch = threading.local()


@contextmanager
def vocabulary_batch() -> Iterator[None]:
    """Within this block, documents' new words are collected and written once at the end
    (an import of many runbooks reads and writes the vocabulary once, not per runbook).
    Use inside the writer's transaction."""
    outer = getattr(_batch, "words", None)
    _batch.words = set() if outer is None else outer
    try:
        yield
        if outer is None:
            _write_vocabulary(_batch.words)
    finally:
        if outer is None:
            _batch.words = None


def _add_vocabulary(texts: Iterable[str]) -> None:
    found = {
        word
        for text in texts
        for word in words(text)
        if len(word) in VOCABULARY_LENGTHS and word.isalpha()
    }
    pending = getattr(_batch, "words", None)
    if pending is None:
        _write_vocabulary(found)
    else:
        pending |= found


def _write_vocabulary(found: set[str]) -> None:
    # Most words are known already: read which (one query per 5,000), then insert the rest
    # in one statement, ignoring any that another writer added meanwhile.
    ordered = sorted(found)
    known: set[str] = set()
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        known |= set(SearchWord.objects.filter(word__in=chunk).values_list("word", flat=True))
    new = [(w, stem(w)[:30], len(w)) for w in ordered if w not in known]
    if not new:
        return
    ignore = "OR IGNORE" if connection.vendor == "sqlite" else ""
    conflict = "" if connection.vendor == "sqlite" else "ON CONFLICT (word) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT {ignore} INTO kb_searchword (word, stem, length) "  # noqa: S608
            f"VALUES (%s, %s, %s) {conflict}",
            new,
        )


def rank(
    kind: str,
    query: ParsedQuery,
    *,
    limit: int = MAX_RANKED,
    prefix: str = "",
    newest: int | None = None,
    version: object = None,
) -> list[Ranked]:
    """The documents of one kind matching any term of ``query``, best first, at most
    ``limit``. Ties go to the older document. Empty for an empty query.

    ``prefix``: a word being typed, which also matches the words it begins (type-ahead);
    ignored unless it is letters and digits only. ``newest``: only the newest this many
    documents of the kind are ranked, and on PostgreSQL with one ``ts_rank`` over all terms
    instead of per-term BM25 weights — a bounded, cheaper ranking for a secondary list (past
    incidents) whose size grows with the history.

    ``version``: anything that changes whenever documents of the kind change (for runbooks,
    kb.selectors.kb_version). Given, PostgreSQL's document frequencies and the kind's size
    are kept in this process's cache under it, so a query whose terms were ranked before
    costs one statement instead of two."""
    prefix = prefix.lower() if prefix.isalnum() and len(prefix) <= 40 else ""
    if query.is_empty and not prefix:
        return []
    since = newest_floor(kind, newest) if newest else 0
    if connection.vendor == "postgresql":
        if newest:
            return _rank_postgresql_simple(kind, query, limit, since)
        return _rank_postgresql(kind, query, limit, prefix, version)
    return _rank_sqlite(kind, query, limit, prefix, since)


def newest_floor(kind: str, newest: int) -> int:
    """The smallest id among the newest ``newest`` documents of ``kind`` (0 when there are
    fewer). Kept in this process's cache under the kind's newest id, as finding it walks
    ``newest`` index entries: one index read when cached."""
    documents = SearchDocument.objects.filter(kind=kind)
    top = documents.aggregate(top=Max("id"))["top"]
    if top is None:
        return 0

    def read() -> int:
        floor = list(documents.order_by("-id").values_list("id", flat=True)[newest - 1 : newest])
        return floor[0] if floor else 0

    return cached(fragment_key("search-floor", kind, newest, top), read)


def _rank_sqlite(
    kind: str, query: ParsedQuery, limit: int, prefix: str, since: int = 0
) -> list[Ranked]:
    expression = fts5_match(query)
    if prefix:
        expression = f'{expression} OR "{prefix}"*' if expression else f'"{prefix}"*'
    if not expression:
        return []
    table = FTS_TABLES[kind]
    weights = ", ".join(str(w) for w in FTS5_WEIGHTS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id, d.ref, d.runbook_id, -bm25({table}, {weights}) AS score "  # noqa: S608
            f"FROM {table} JOIN kb_searchdocument d ON d.id = {table}.rowid "
            f"WHERE {table} MATCH %s AND {table}.rowid >= %s "
            "ORDER BY score DESC, d.id LIMIT %s",
            [expression, since, limit],
        )
        return [Ranked(*row) for row in cursor.fetchall()]


def _rank_postgresql_simple(kind: str, query: ParsedQuery, limit: int, since: int) -> list[Ranked]:
    """One ``ts_rank`` over the OR of every alternative, among documents from ``since`` on.
    Raw SQL: compiling the equivalent ORM expression costs more than running it."""
    alternatives = list(dict.fromkeys(a for term in query.terms for a in term.alternatives))
    if not alternatives:
        return []
    values: list = []
    # Inline (not in a CTE), so the planner can combine the GIN index with the id range.
    match = _pg_or(alternatives, values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, ref, runbook_id, ts_rank(%s::float4[], vector, {match}, 1) AS score "  # noqa: S608
            f"FROM kb_searchdocument WHERE kind = %s AND id >= %s AND vector @@ ({match}) "
            "ORDER BY score DESC, id LIMIT %s",
            [PG_WEIGHTS, *values, kind, since, *values, limit],
        )
        return [Ranked(*row) for row in cursor.fetchall()]


def _pg_or(alternatives: Iterable[str], params: list) -> str:
    """SQL for the tsquery OR of ``alternatives`` (several words make a phrase); their
    values are appended to ``params``."""
    parts = []
    for alternative in alternatives:
        function = "phraseto_tsquery" if " " in alternative else "plainto_tsquery"
        parts.append(f"{function}('{PG_CONFIG}', %s)")
        params.append(alternative)
    return " || ".join(parts)


def _rank_postgresql(
    kind: str, query: ParsedQuery, limit: int, prefix: str, version: object = None
) -> list[Ranked]:
    """Per-term ``ts_rank`` × BM25 idf in two statements: the kind's size and each term's
    document frequency, then the scores.

    The term queries come from a MATERIALIZED CTE, so the planner does not see (and
    overestimate) how many documents a long OR matches: it reads the kind's partial GIN
    index instead of scanning the table and testing every document of both kinds. A
    document is read when it holds one of the distinct single words (answered by the GIN
    index alone, no positions) or one of the distinct phrases: the same documents as the
    OR of all terms, without testing each repeated synonym and phrase on each of them."""
    params: list = []
    terms = [_pg_or(term.alternatives, params) for term in query.terms if term.alternatives]
    names = [tuple(term.alternatives) for term in query.terms if term.alternatives]
    if prefix:
        # Letters and digits only (checked by rank), so the raw tsquery cannot be malformed.
        terms.append(f"to_tsquery('{PG_CONFIG}', %s)")
        params.append(f"{prefix}:*")
        names.append((f"{prefix}:*",))
    if not terms:
        return []
    columns = [f"{sql} AS t{i}" for i, sql in enumerate(terms)]
    match = [f"d.vector @@ q.t{len(terms) - 1}"] if prefix else []
    alternatives = list(dict.fromkeys(a for term in query.terms for a in term.alternatives))
    for name, chosen in (
        ("single", [a for a in alternatives if " " not in a]),
        ("phrases", [a for a in alternatives if " " in a]),
    ):
        if chosen:
            columns.append(f"{_pg_or(chosen, params)} AS {name}")
            match.append(f"d.vector @@ q.{name}")
    with_q = f"WITH q AS MATERIALIZED (SELECT {', '.join(columns)}) "
    where = f"d.kind = %s AND ({' OR '.join(match)})"
    frequencies = ", ".join(
        f"count(*) FILTER (WHERE d.vector @@ q.t{i})" for i in range(len(terms))
    )
    keys = [fragment_key("search-df", kind, version, name) for name in ["", *names]]
    known = caches["local"].get_many(keys) if version is not None else {}
    with connection.cursor() as cursor:
        if len(known) == len(keys):
            total, *counts = (known[key] for key in keys)
        else:
            cursor.execute(
                with_q + "SELECT (SELECT count(*) FROM kb_searchdocument WHERE kind = %s), "  # noqa: S608
                f"{frequencies} FROM kb_searchdocument d, q WHERE {where}",
                [*params, kind, kind],
            )
            total, *counts = cursor.fetchone()
            if version is not None:
                found = dict(zip(keys, [total, *counts], strict=True))
                caches["local"].set_many(found, FRAGMENT_SECONDS)
        parts, idfs = [], []
        for i, df in enumerate(counts):
            if df:
                parts.append(f"%s * ts_rank(%s::float4[], d.vector, q.t{i}, 1)")
                idfs += [math.log(1 + (total - df + 0.5) / (df + 0.5)), PG_WEIGHTS]
        if not parts:
            return []
        cursor.execute(
            with_q + f"SELECT d.id, d.ref, d.runbook_id, {' + '.join(parts)} AS score "  # noqa: S608
            f"FROM kb_searchdocument d, q WHERE {where} ORDER BY score DESC, d.id LIMIT %s",
            [*params, *idfs, kind, limit],
        )
        return [Ranked(*row) for row in cursor.fetchall()]


def document_frequency(kind: str, alternative: str, *, version: object = None) -> int:
    """How many documents of ``kind`` contain ``alternative`` (a word or phrase). Given a
    ``version`` (as for ``rank``), kept in this process's cache under it."""
    if version is not None:
        key = fragment_key("search-df", kind, version, (alternative,))
        return cached(key, lambda: document_frequency(kind, alternative))
    if connection.vendor == "postgresql":
        search_type = "phrase" if " " in alternative else "plain"
        wanted = SearchQuery(alternative, config=PG_CONFIG, search_type=search_type)
        return SearchDocument.objects.filter(kind=kind, vector=wanted).count()
    table = FTS_TABLES[kind]
    phrase = '"' + alternative.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table} WHERE {table} MATCH %s",  # noqa: S608
            [phrase],
        )
        return cursor.fetchone()[0]


def known_stems(stems: Iterable[str]) -> set[str]:
    """The given stems that some indexed runbook contains (one query)."""
    return set(
        SearchWord.objects.filter(stem__in=set(stems)).values_list("stem", flat=True).distinct()
    )


MAX_CANDIDATES = 2_000


def spelling_candidates(word: str) -> list[str]:
    """Vocabulary words that could be ``word`` misspelled: similar trigrams on PostgreSQL
    (pg_trgm), the same first letter and a length within two on SQLite. At most 2,000."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramSimilarity

        rows = (
            SearchWord.objects.filter(word__trigram_similar=word)
            .annotate(similarity=TrigramSimilarity("word", word))
            .order_by("-similarity", "word")
            .values_list("word", flat=True)[:50]
        )
        return list(rows)
    first = word[:1]
    rows = SearchWord.objects.filter(
        length__range=(len(word) - 2, len(word) + 2),
        word__gte=first,
        word__lt=first + "\U0010ffff",
    ).values_list("word", flat=True)[:MAX_CANDIDATES]
    return list(rows)


def nearest_titles(text: str, limit: int = 5) -> list[Runbook]:
    """Runbooks whose titles look most like ``text`` (for an empty result): trigram
    similarity on PostgreSQL, rapidfuzz's WRatio over at most 20,000 titles on SQLite."""
    text = text[:200]
    if not text.strip():
        return []
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramSimilarity

        return list(
            Runbook.objects.only("slug", "title", "category")
            .annotate(similarity=TrigramSimilarity("title", text))
            .filter(similarity__gt=0.2)
            .order_by("-similarity", "title")[:limit]
        )
    from rapidfuzz import fuzz, process

    titles = dict(Runbook.objects.values_list("pk", "title")[:20_000])
    best = process.extract(
        text, titles, scorer=fuzz.WRatio, processor=str.lower, score_cutoff=60, limit=limit
    )
    runbooks = Runbook.objects.only("slug", "title", "category").in_bulk([key for *_, key in best])
    return [runbooks[key] for *_, key in best if key in runbooks]
