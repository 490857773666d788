"""Query understanding for operations text: what an on-call engineer's paste means. Pure.

On-call engineers paste error strings, alert names, paraphrased symptoms and typos. This module
turns such text into a :class:`ParsedQuery` of :class:`Term` objects, each with lowercase
alternatives (its own form, synonyms, identifier splits), for two consumers: SQLite FTS5
(``porter unicode61 remove_diacritics 2``, via :func:`fts5_match`) and PostgreSQL full-text
search (``english`` config, one ``SearchQuery`` per alternative, OR-ed together).

Every function is linear in its input: the regular expressions below have no nested or
overlapping quantifiers, and nothing recurses.

How a compound identifier becomes terms (``KubePodCrashLooping``, ``PAYMENT_SERVICE_URL``,
``pg_wal/xlogtemp.12``): the whole compound is a term of its own, placed just before one term
per piece. Its alternatives are the words the engines see for the compound as typed
(``kubepodcrashlooping``; ``payment service url`` as a phrase) and then the phrase of its pieces
(``kube pod crash looping``). A separate term rather than an extra alternative of the first
piece, because an exact identifier match is the strongest evidence there is: as its own term it
adds its own weight to bm25/ts_rank and one more to :func:`match_count`, instead of counting the
same as a page that merely says "kube". Placing it first keeps it when MAX_TERMS cuts the tail.
"""

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from rapidfuzz.distance import OSA
from spellchecker import SpellChecker

MAX_TERMS = 16
MAX_PHRASE_WORDS = 5
MAX_QUERY_CHARS = 4000
MAX_ALTERNATIVES = 12

DEFAULT_SYNONYMS: tuple[tuple[str, ...], ...] = (
    # HTTP status families. A code listed in two groups gets both (see _SynonymIndex).
    (
        "5xx",
        "500",
        "502",
        "503",
        "504",
        "server error",
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
    ),
    ("4xx", "400", "401", "403", "404", "409", "429", "client error"),
    ("401", "unauthorized", "unauthorised"),
    ("403", "forbidden"),
    ("429", "too many requests", "rate limited"),
    # Resources running out.
    (
        "oom",
        "oomkilled",
        "oom killed",
        "oom killer",
        "out of memory",
        "exit 137",
        "exit code 137",
        "memory limit",
    ),
    ("mem", "memory"),
    (
        "disk full",
        "no space left on device",
        "out of disk",
        "out of space",
        "disk space",
        "filesystem full",
        "volume full",
        "enospc",
    ),
    ("too many open files", "emfile"),
    # Kubernetes.
    # Not "kube": every kube-prometheus alert name starts with it (KubeAPIDown, KubePod…).
    ("k8s", "kubernetes"),
    (
        "crashloopbackoff",
        "crash loop",
        "crashloop",
        "crash looping",
        "restarting",
        "restart loop",
        "crash loop backoff",
    ),
    ("imagepullbackoff", "errimagepull", "image pull backoff"),
    ("pvc", "persistent volume claim"),
    ("pv", "persistent volume"),
    ("hpa", "horizontal pod autoscaler"),
    ("vpa", "vertical pod autoscaler"),
    ("pdb", "pod disruption budget"),
    ("sts", "statefulset", "stateful set"),
    ("daemonset", "daemon set"),
    ("replicaset", "replica set"),
    ("configmap", "config map"),
    ("serviceaccount", "service account"),
    ("netpol", "networkpolicy", "network policy"),
    ("crd", "custom resource definition"),
    ("apiserver", "api server", "kube apiserver"),
    ("ns", "namespace"),
    ("svc", "service"),
    # Networking, TLS, DNS.
    ("cert", "certificate", "tls", "ssl", "x509"),
    ("dns", "nxdomain", "name resolution", "resolve", "resolving", "lookup", "look up"),
    ("conn", "connection"),
    ("timeout", "timed out"),
    ("connection reset", "connection reset by peer", "econnreset"),
    ("no route to host", "ehostunreach"),
    ("address already in use", "eaddrinuse"),
    ("broken pipe", "epipe"),
    ("lb", "load balancer", "loadbalancer"),
    # Databases.
    ("db", "database"),
    ("pg", "postgres", "postgresql"),
    ("replication lag", "replica lag", "replication delay"),
    # Symptoms.
    ("latency", "slow", "slowness", "response time"),
    ("error rate", "errors"),
    ("hang", "hung", "stuck"),
    ("segfault", "segmentation fault", "sigsegv"),
    ("permission denied", "eacces"),
    ("no such file or directory", "enoent"),
    ("clock skew", "clock drift", "time drift"),
    # Changes.
    ("deploy", "deployment", "release", "rollout", "roll out"),
    ("rollback", "roll back", "rolled back", "revert"),
    ("failover", "fail over", "failed over"),
    # Everything else.
    ("env var", "environment variable", "envvar"),
    ("cfg", "config", "configuration"),
    ("vm", "vms", "virtual machine"),
    ("fs", "filesystem", "file system"),
    ("gc", "garbage collection", "garbage collector"),
    ("ttl", "time to live"),
    ("rps", "requests per second"),
    ("qps", "queries per second"),
    ("authn", "authentication"),
    ("authz", "authorization", "authorisation"),
    ("sso", "single sign on"),
    ("mfa", "2fa", "multi factor authentication", "two factor authentication"),
    ("alert", "alarm"),
    ("oncall", "on call"),
)

# Function words plus the filler of incident chatter ("right after", "went", "two VMs").
# "down" is missing on purpose: "service down", "etcdMembersDown" are symptoms.
_STOPWORDS = frozenset(
    """
    couldn doesn didn wasn isn aren wouldn shouldn hasn haven hadn weren mustn needn
    a about above after again against ago all also already am an and any are as at
    be because been before being below between both but by can could did do does doing
    during each even few for from further got had has have having he her here hers him his
    how i if in into is it its itself just keep keeps kept like me more most much my no nor
    not now of off on once one only or other our out over own please really right same she
    should since so some still such than that the their them then there these they this
    those through to too two three four five under until up very was we went were what when
    where which while who whom why will with would yet you your
    """.split()
)

# Mixed-case names that are single words to the people typing them; split, they would turn
# into noise like "my" + "sql" or "i" + "os".
_UNSPLIT = frozenset(
    """
    mysql nosql graphql mongodb mariadb dynamodb clickhouse bigquery opensearch elasticsearch
    github gitlab javascript typescript devops oauth websocket websockets ios macos iops
    pagerduty cloudwatch cloudflare cloudfront openssl openssh
    """.split()
)

# Letters and digits, as the unicode61 tokenizer and PostgreSQL's parser split words.
# Combining diacritics (U+0300-U+036F) stay inside a word, as unicode61 keeps (then folds)
# them, so a decomposed "café" is one word; other scripts' marks split words in both.
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
_SPACE_RE = re.compile(r"\S+")

_HEX = "[0-9a-f]"
_MAC = rf"{_HEX}{{2}}" + rf"[:-]{_HEX}{{2}}" * 5
# Bounded-length noise, found anywhere inside a token. Every alternative has a fixed maximum
# length, so the work per start position is constant; MAC addresses are spelled out rather
# than written as a repeated group to keep quantifiers un-nested.
_NOISE_RE = re.compile(
    r"(?<![0-9a-z])(?:"
    rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
    rf"|sha(?:1|224|256|384|512)?:{_HEX}{{7,128}}"
    r"|\d{4}-\d{2}-\d{2}(?:t\d{2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?)?(?:z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}/\d{2}/\d{2}"
    r"|\d{1,2}/\d{1,2}/\d{4}"
    r"|\d{1,2}/[a-z]{3}/\d{4}(?::\d{2}:\d{2}:\d{2})?"
    rf"|{_MAC}"
    r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:/\d{1,2})?"
    r"|ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}"  # EC2 host names spell the address with dashes
    r"|\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?z?"
    r")(?![0-9a-z])",
    re.IGNORECASE,
)
_HEX_COLON_RE = re.compile(r"[0-9a-f:]+", re.IGNORECASE)
_KEBAB_RE = re.compile(r"[0-9a-z-]+")
# Kubernetes generates pod-name suffixes from this alphabet (no vowels, no 0/1/3).
_POD_SUFFIX_RE = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5}")
_POD_HASH_RE = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{6,10}")
_HEX_CHARS = frozenset("0123456789abcdef")
_CONTRACTIONS = frozenset({"s", "t", "d", "m", "re", "ll", "ve"})
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})

_MAX_PHRASE_WORDS = 8
_INDEX_SLACK = 64
# No English word is this long; snowball's passes over a 200 KB "word" would only burn time.
_MAX_STEM_CHARS = 64

_STEMMER = snowballstemmer.stemmer("english")
# The stemmer object keeps its state on the instance, so threads must not share it unguarded.
_STEMMER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Term:
    """One thing the engineer asked about.

    ``text`` is the term as typed (``"relase"``, ``"KubePodCrashLooping"``, ``"out of memory"``);
    ``alternatives`` are lowercase words or space-separated phrases to search for: the term's
    own form first, then synonyms and identifier splits; no two share their stems; at most 12.
    """

    text: str
    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into terms, in typed order, plus the noise that was left out."""

    raw: str
    terms: tuple[Term, ...]
    dropped: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True when nothing searchable is left (blank, punctuation or noise only)."""
        return not self.terms

    def stems(self) -> frozenset[str]:
        """Snowball stems of the words of every alternative, for highlighting.

        Stopwords and single letters are left out: marking every "on" and "of" in a snippet
        because the query said "no space left on device" would hide the real matches.
        """
        return frozenset(
            stem(word)
            for term in self.terms
            for alternative in term.alternatives
            for word in words(alternative)
            if len(word) > 1 and word not in _STOPWORDS
        )


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str  # as typed
    word: str  # lowercase
    stem: str
    start: int  # offsets into ParsedQuery.raw
    end: int


@dataclass(frozen=True, slots=True)
class _Pending:
    start: int
    order: int  # at the same start: a compound's whole form (0) before its pieces (1)
    text: str
    alternatives: tuple[str, ...]


class _SynonymIndex:
    """Synonym entries keyed by the stems of their words, for O(1) phrase lookups."""

    def __init__(self, groups: Iterable[Sequence[str]]) -> None:
        normalised: list[list[str]] = []
        for group in groups:
            phrases = (words(entry) for entry in group)
            # Longer entries are left out: the phrase scan costs their length squared per word.
            normalised.append([" ".join(p) for p in phrases if 0 < len(p) <= _MAX_PHRASE_WORDS])
        groups_of: dict[tuple[str, ...], list[int]] = {}
        for index, group in enumerate(normalised):
            for entry in group:
                indexes = groups_of.setdefault(_key(entry), [])
                if not indexes or indexes[-1] != index:
                    indexes.append(index)
        # An entry in several groups (401 is a 4xx and "unauthorized") gets all of them.
        self.alternatives = {
            key: tuple(entry for index in indexes for entry in normalised[index])
            for key, indexes in groups_of.items()
        }
        self.longest = max((len(key) for key in self.alternatives), default=0)


def words(text: str) -> list[str]:
    """Lowercase word tokens of ``text`` as the search engines see them.

    Splits on every character that is not a letter or a digit (Unicode-aware: "Störung" is one
    word; ``_`` and ``-`` separate), without splitting CamelCase. Linear in ``len(text)``.
    """
    # Lowercasing first keeps this idempotent: "İ".lower() grows a combining dot, a separator.
    return _WORD_RE.findall(text.lower())


def stem(word: str) -> str:
    """The Snowball English stem of a lowercase word (``"restarting"`` -> ``"restart"``).

    Words longer than 64 characters are returned unchanged. Thread-safe and cached.
    """
    word = word.lower()
    if len(word) > _MAX_STEM_CHARS:
        return word
    return _cached_stem(word)


@lru_cache(maxsize=65536)
def _cached_stem(word: str) -> str:
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(word)


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in words(phrase))


_DEFAULT_INDEX = _SynonymIndex(DEFAULT_SYNONYMS)


# Field names of structured logs (logfmt ``level=error``, JSON ``"msg":"…"``): pasted log
# lines carry them on every line, and as terms they would crowd out the message's words.
_LOG_KEY_RE = re.compile(
    r"\b(?:level|lvl|severity|ts|time|timestamp|caller|msg|message|component|logger|"
    r"err|error|source|stacktrace|trace_id|span_id|request_id|thread)(?=\"?[=:])",
    re.IGNORECASE,
)
_PATH_CHARS = frozenset("/.=:")


def _blank(match: re.Match) -> str:
    # Same length, so offsets into the text stay true.
    return " " * (match.end() - match.start())


# How far back a cut looks for a space, so that it does not split a word.
_CLIP_SLACK = 60


def clip(text: str) -> str:
    """At most MAX_QUERY_CHARS of ``text``: all of it, or its first and last halves joined by
    a line break (a traceback's key line is its last; a log line's, its first). Each half
    ends (or starts) at a space when one is near, so no word is cut in two."""
    if len(text) <= MAX_QUERY_CHARS:
        return text
    half = MAX_QUERY_CHARS // 2
    head, tail = text[: half - 1], text[-half:]
    space = max(head.rfind(" ", len(head) - _CLIP_SLACK), head.rfind("\n", len(head) - _CLIP_SLACK))
    if space > 0:
        head = head[:space]
    found = [i for i in (tail.find(" ", 0, _CLIP_SLACK), tail.find("\n", 0, _CLIP_SLACK)) if i >= 0]
    if found:
        tail = tail[min(found) + 1 :]
    return head + "\n" + tail


@lru_cache(maxsize=8)
def _synonym_index(groups: tuple[tuple[str, ...], ...]) -> _SynonymIndex:
    # The groups come from the database on every search; building their index is not free.
    return _SynonymIndex(groups)


def parse_query(text: str, *, synonyms: Iterable[Sequence[str]] = DEFAULT_SYNONYMS) -> ParsedQuery:
    """Split what an engineer typed into search terms, in typed order.

    Only ``clip(text)`` counts (the start and the end of a long paste). Noise (UUIDs, hex ids,
    digests, IP addresses, timestamps, numbers of 1-2 or 5+ digits, pod-name hashes) goes to
    ``dropped``;
    compound identifiers become one term for the whole plus one per piece (see the module
    docstring); synonym phrases are matched by stems, longest first, before stopwords go;
    terms with the same stems are merged; at most MAX_TERMS terms are kept, the first and the
    last half.
    ``synonyms`` are groups of equivalent lowercase words or phrases. Never raises for any str.
    """
    raw = _LOG_KEY_RE.sub(_blank, clip(text))
    index = (
        _DEFAULT_INDEX
        if synonyms is DEFAULT_SYNONYMS
        else _synonym_index(tuple(tuple(group) for group in synonyms))
    )
    pending: list[_Pending] = []
    dropped: list[str] = []
    # Pieces between quoted phrases: synonym phrases don't reach across a quoted one.
    stretches: list[list[_Piece]] = [[]]

    offset = 0
    parts = raw.translate(_QUOTES).split('"')
    for number, part in enumerate(parts):
        # Odd parts sit between a pair of quotes; the last part after an unpaired quote does not.
        quoted = number % 2 == 1 and number < len(parts) - 1
        tokens = [(m.start() + offset, m.end() + offset) for m in _SPACE_RE.finditer(part)]
        # A short quoted span is a phrase the engineer means; a long one is a quoted
        # message inside a pasted log line, whose words count one by one.
        if quoted and 1 < len(tokens) <= MAX_PHRASE_WORDS:
            phrase_words = words(part)
            if phrase_words:
                own = " ".join(phrase_words)
                synonyms_of = index.alternatives.get(_key(own), ())
                pending.append(_Pending(offset, 1, part.strip(), (own, *synonyms_of)))
                stretches.append([])
        else:
            for start, end in tokens:
                _analyse_token(raw, start, end, index, pending, stretches[-1], dropped)
        offset += len(part) + 1

    for pieces in stretches:
        _match_phrases(raw, pieces, index, pending)
    pending.sort(key=lambda item: (item.start, item.order))  # two sorted runs: linear merge
    return ParsedQuery(raw=raw, terms=_merge(pending), dropped=tuple(dropped))


def _analyse_token(
    raw: str,
    start: int,
    end: int,
    index: _SynonymIndex,
    pending: list[_Pending],
    pieces: list[_Piece],
    dropped: list[str],
) -> None:
    """Append the pieces of one whitespace-separated token, and its whole form if compound."""
    while start < end and not _is_word_char(raw[start]):
        start += 1
    while end > start and not _is_word_char(raw[end - 1]):
        end -= 1
    apostrophe = max(raw.rfind("'", start, end), raw.rfind("\u2019", start, end))
    if apostrophe > start and raw[apostrophe + 1 : end].lower() in _CONTRACTIONS:
        end = apostrophe  # "pod's" is "pod", "can't" is "can"
    if start >= end:
        return
    segments = [(start, raw[start:end])]
    for finder in (_patterned_noise, _ipv6_noise, _pod_hash_noise):
        segments = _carve(segments, finder, dropped)

    runs: list[tuple[str, bool]] = []  # (lowercase run, was CamelCase-split)
    token_pieces: list[_Piece] = []
    for segment_start, segment in segments:
        for match in _WORD_RE.finditer(segment):
            run = match.group()
            if _is_noise_word(run):
                dropped.append(run)
                continue
            lower = run.lower()
            run_start = segment_start + match.start()
            spans = [(0, len(run))]
            # A run that is itself a synonym ("OOMKilled", "CrashLoopBackOff") stays whole.
            if lower not in _UNSPLIT and (stem(lower),) not in index.alternatives:
                spans = _camel_spans(run)
            runs.append((lower, len(spans) > 1))
            for a, b in spans:
                word = run[a:b].lower()
                token_pieces.append(
                    _Piece(run[a:b], word, stem(word), run_start + a, run_start + b)
                )
    pieces.extend(token_pieces)

    camel = any(split for _, split in runs)
    # Paths, URLs and key=value pairs are not names: their pieces are the terms, and a phrase
    # of them all ("caller dispatch go") would only take a term's place.
    if any(char in _PATH_CHARS for char in raw[start:end]):
        return
    if camel or sum(1 for lower, _ in runs if len(lower) > 1) > 1:
        whole = " ".join(lower for lower, _ in runs)
        split = " ".join(piece.word for piece in token_pieces)
        pending.append(_Pending(start, 0, raw[start:end], (whole, split)))


def _carve(
    segments: list[tuple[int, str]],
    finder: Callable[[str], Iterable[tuple[int, int]]],
    dropped: list[str],
) -> list[tuple[int, str]]:
    """Cut the spans ``finder`` reports out of each (offset, text) segment, keeping the rest."""
    kept: list[tuple[int, str]] = []
    for offset, segment in segments:
        position = 0
        for a, b in finder(segment):
            dropped.append(segment[a:b])
            if a > position:
                kept.append((offset + position, segment[position:a]))
            position = b
        if position < len(segment):
            kept.append((offset + position, segment[position:]))
    return kept


def _patterned_noise(segment: str) -> Iterator[tuple[int, int]]:
    for match in _NOISE_RE.finditer(segment):
        yield match.span()


def _ipv6_noise(segment: str) -> Iterator[tuple[int, int]]:
    for match in _HEX_COLON_RE.finditer(segment):
        a, b = match.span()
        candidate = match.group()
        if candidate.count(":") < 2 or not any(c.isdigit() for c in candidate):
            continue
        if (a > 0 and segment[a - 1].isalnum()) or (b < len(segment) and segment[b].isalnum()):
            continue  # part of a longer word, like "std::vector"
        if all(len(group) <= 4 for group in candidate.split(":")):
            yield a, b


def _pod_hash_noise(segment: str) -> Iterator[tuple[int, int]]:
    """Spans of generated pod-name suffixes: ``checkout-7d9f8b6c5-x2k4p`` keeps ``checkout``."""
    for match in _KEBAB_RE.finditer(segment):
        parts = match.group().rsplit("-", 2)
        if len(parts) < 2 or not _POD_SUFFIX_RE.fullmatch(parts[-1]):
            continue
        suffix = parts[-1]
        replica_hash = (
            len(parts) == 3
            and _POD_HASH_RE.fullmatch(parts[1]) is not None
            and any(c.isdigit() for c in parts[1])
        )
        if not any(c.isalpha() for c in parts[0]):
            continue
        if replica_hash:
            yield match.start() + len(parts[0]) + 1, match.end()
        # Alone, a suffix needs an inner digit: "http2" and "pgsql" are words, "x2k4p" is not.
        elif any(c.isdigit() for c in suffix[:4]) and any(c.isalpha() for c in suffix):
            yield match.end() - len(suffix), match.end()


def _is_noise_word(run: str) -> bool:
    """Numbers of 1-2 or 5+ digits, hex ids, 0x values and long random ids."""
    lower = run.lower()
    if lower.isascii() and lower.isdigit():
        return len(lower) <= 2 or len(lower) >= 5
    if lower.startswith("0x") and len(lower) > 2 and all(c in _HEX_CHARS for c in lower[2:]):
        return True
    has_digit = any(c.isdigit() for c in lower)
    has_alpha = any(c.isalpha() for c in lower)
    if len(lower) >= 7 and has_digit and has_alpha and all(c in _HEX_CHARS for c in lower):
        return True
    # Base64 tokens, access keys and the like: long, with letters and several digits.
    return len(lower) >= 20 and has_alpha and sum(c.isdigit() for c in lower) >= 3


def _is_word_char(char: str) -> bool:
    return char.isalnum() or "\u0300" <= char <= "\u036f"


def _camel_spans(run: str) -> list[tuple[int, int]]:
    """(start, end) of the CamelCase pieces of a run of letters and digits.

    ``KubePodCrashLooping`` -> Kube Pod Crash Looping; ``HTTPServerError`` -> HTTP Server Error;
    ``VMs``, ``IPv4``, ``x509``, ``2FA`` stay whole.
    """
    length = len(run)
    tail = run[1:]
    if tail == tail.lower():
        return [(0, length)]  # no capital after the first letter: the common case, done in C
    spans: list[tuple[int, int]] = []
    start = 0
    has_alpha = run[:1].isalpha()
    for i in range(1, length):
        char = run[i]
        if char.isupper():
            previous = run[i - 1]
            starts_word = i + 2 < length and run[i + 1].islower() and run[i + 2].islower()
            if previous.islower():
                split = True
            elif previous.isupper():
                split = starts_word  # the S of HTTPServer, not the M of VMs
            elif previous.isdigit():
                split = has_alpha or (i + 1 < length and run[i + 1].islower())
            else:
                split = False
            if split:
                spans.append((start, i))
                start = i
                has_alpha = False
        has_alpha = has_alpha or char.isalpha()
    spans.append((start, length))
    return spans


def _match_phrases(
    raw: str, pieces: list[_Piece], index: _SynonymIndex, pending: list[_Pending]
) -> None:
    """Turn pieces into terms: synonym phrases longest first, then single content words."""
    stems = [piece.stem for piece in pieces]
    count = len(pieces)
    i = 0
    while i < count:
        matched = 0
        for length in range(min(index.longest, count - i), 0, -1):
            found = index.alternatives.get(tuple(stems[i : i + length]))
            if found:
                matched = length
                break
        if matched:
            first, last = pieces[i], pieces[i + matched - 1]
            own = " ".join(piece.word for piece in pieces[i : i + matched])
            pending.append(_Pending(first.start, 1, raw[first.start : last.end], (own, *found)))
            i += matched
            continue
        piece = pieces[i]
        if len(piece.word) > 1 and piece.word not in _STOPWORDS:
            pending.append(_Pending(piece.start, 1, piece.text, (piece.word,)))
        i += 1


def _merge(pending: list[_Pending]) -> tuple[Term, ...]:
    """Terms in order, those sharing their own form's stems merged, at most MAX_TERMS."""
    order: list[tuple[str, ...]] = []
    texts: dict[tuple[str, ...], str] = {}
    alternatives: dict[tuple[str, ...], list[str]] = {}
    seen: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for item in pending:
        own = " ".join(words(item.alternatives[0]))
        if not own:
            continue
        key = _key(own)
        if key not in texts:
            order.append(key)
            texts[key] = item.text
            alternatives[key] = []
            seen[key] = set()
        for alternative in item.alternatives:
            if len(alternatives[key]) == MAX_ALTERNATIVES:
                break
            normalised = " ".join(words(alternative))
            alternative_key = _key(normalised)
            if normalised and alternative_key not in seen[key]:
                seen[key].add(alternative_key)
                alternatives[key].append(normalised)
    if len(order) > MAX_TERMS:
        # A long paste: keep its first and its last terms. A log line names the problem
        # first; a traceback ends with the exception, a Java trace with "Caused by".
        head = MAX_TERMS // 2
        order = order[:head] + order[len(order) - (MAX_TERMS - head) :]
    return tuple(Term(texts[key], tuple(alternatives[key])) for key in order)


def index_text(text: str) -> str:
    """The document text plus the split forms of its compound identifiers, for indexing.

    Returns ``text`` unchanged when it has no compounds, else ``text + " " + pieces``, where
    pieces are the lowercase CamelCase/snake/dotted/slashed/kebab parts of each compound
    (``KubePodCrashLooping`` adds ``kube pod crash looping``), single letters left out. The
    addition is at most ``len(text) + 64`` characters (compounds that would overflow it are
    skipped), so the result is at most ``2 * len(text) + 65`` long. Linear.
    """
    # The slack lets a short title that is one identifier get its pieces; the len(text) part
    # bounds pathological input such as "aBaBaB…", whose pieces outgrow the text.
    budget = len(text) + _INDEX_SLACK
    added: list[str] = []
    for match in _SPACE_RE.finditer(text):
        chunk = match.group()
        if chunk.isalnum() and chunk[1:] == chunk[1:].lower():
            continue  # a plain word: nothing to split, and most words of a page are plain
        runs = _WORD_RE.findall(chunk)
        pieces: list[str] = []
        camel = False
        for run in runs:
            if len(run) < 2:
                continue  # single letters are never searched for
            spans = _camel_spans(run)
            camel = camel or len(spans) > 1
            pieces.extend(run[a:b].lower() for a, b in spans if b - a > 1)
        if (len(runs) < 2 and not camel) or len(pieces) < 2:
            continue
        split = " ".join(pieces)
        if len(split) + 1 <= budget:
            added.append(split)
            budget -= len(split) + 1
    return f"{text} {' '.join(added)}" if added else text


def fts5_match(query: ParsedQuery) -> str:
    """A SQLite FTS5 MATCH expression: every alternative a quoted phrase, all OR-ed.

    OR everywhere, so the expression ranks rather than filters: any term may match. Phrases are
    rebuilt from :func:`words`, so no operator, column filter, NUL or quote can leak through;
    alternatives without word characters are left out. ``""`` for an empty query.
    """
    phrases: list[str] = []
    seen: set[str] = set()
    for term in query.terms:
        for alternative in term.alternatives:
            phrase = " ".join(words(alternative))
            if phrase and phrase not in seen:
                seen.add(phrase)
                phrases.append('"' + phrase.replace('"', '""') + '"')
    return " OR ".join(phrases)


def _word_hits(word: str, stems: frozenset[str]) -> bool:
    """Whether a document word, or one of its CamelCase pieces, has a stem the query has."""
    if stem(word) in stems:
        return True
    spans = _camel_spans(word) if len(word) <= _MAX_STEM_CHARS else []
    return len(spans) > 1 and any(stem(word[a:b]) in stems for a, b in spans)


def highlight(text: str, query: ParsedQuery, width: int = 200) -> SafeString:
    """An HTML-escaped snippet of about ``width`` characters around the first match.

    The snippet starts about a third of ``width`` before the first word whose stem (or a
    CamelCase piece's stem) is in ``query.stems()``; every such word in it is wrapped in
    ``<mark>``; "… " and " …" show where ``text`` was cut. Without a match the snippet is the
    start of ``text``. Linear in ``len(text)``.
    """
    width = max(width, 1)
    stems = query.stems()
    hits: dict[str, bool] = {}  # pages repeat their words; stem each once

    def hit(word: str) -> bool:
        found = hits.get(word)
        if found is None:
            found = hits[word] = bool(stems) and _word_hits(word, stems)
        return found

    first_start = first_end = None
    if stems:
        for match in _WORD_RE.finditer(text):
            if hit(match.group()):
                first_start, first_end = match.span()
                break
    start = 0
    if first_start is not None and first_start > width // 3:
        start = first_start - width // 3
        space = _find_space(text, start, first_start)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = _rfind_space(text, max(start + width // 2, first_end or 0), end)
        end = space if space != -1 else end
    snippet = text[start:end]
    pieces: list[str] = []
    position = 0
    for match in _WORD_RE.finditer(snippet):
        if hit(match.group()):
            pieces.append(escape(snippet[position : match.start()]))
            pieces.append(f"<mark>{escape(match.group())}</mark>")
            position = match.end()
    pieces.append(escape(snippet[position:]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + "".join(pieces) + suffix)


def _find_space(text: str, start: int, end: int) -> int:
    found = [i for i in (text.find(" ", start, end), text.find("\n", start, end)) if i != -1]
    return min(found, default=-1)


def _rfind_space(text: str, start: int, end: int) -> int:
    return max(text.rfind(" ", start, end), text.rfind("\n", start, end))


def match_count(text: str, query: ParsedQuery) -> int:
    """How many of the query's terms have an alternative present in ``text``.

    Words are compared by stems, after the same compound splitting as :func:`index_text`; a
    phrase counts when all of its content words (stopwords aside) occur anywhere in ``text``.
    Used to pick the section of a page that matched. Linear in ``len(text)``.
    """
    if query.is_empty:
        return 0
    wanted = _term_stems(query)
    lowered = text.lower()
    # Most texts of a page contain none of the query: a substring test settles those
    # without splitting a word (a stem is a prefix of its words, bar a final y → i).
    # Not when a word is too short for that test ("db", "pg"): those need the words.
    short = any(content and len(content[0]) < 3 for term in wanted for content in term)
    if not short and not any(fragment in lowered for fragment in _fragments(wanted)):
        return 0
    present = {stem(word) for word in set(words(index_text(text)))}
    return sum(
        1
        for alternatives in wanted
        if any(content and all(s in present for s in content) for content in alternatives)
    )


def fragment_count(text: str, query: ParsedQuery) -> int:
    """A quick ``match_count``: terms one of whose alternatives' first stem (three letters
    or more) occurs in ``text`` as a substring, case-insensitively. No tokenizing: to rank
    the many sections of a results page; may count a stem inside a longer word."""
    lowered = text.lower()
    return sum(
        1
        for fragments in _term_fragments(query)
        if any(fragment in lowered for fragment in fragments)
    )


@lru_cache(maxsize=64)
def _term_fragments(query: ParsedQuery) -> tuple[frozenset[str], ...]:
    return tuple(
        fragments
        for alternatives in _term_stems(query)
        if (fragments := _fragments((alternatives,)))
    )


@lru_cache(maxsize=64)
def _term_stems(query: ParsedQuery) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Per term, per alternative: the stems of its content words."""
    found = []
    for term in query.terms:
        alternatives = []
        for alternative in term.alternatives:
            phrase = words(alternative)
            content = [word for word in phrase if word not in _STOPWORDS] or phrase
            alternatives.append(tuple(stem(word) for word in content))
        found.append(tuple(alternatives))
    return tuple(found)


def _fragments(wanted: tuple[tuple[tuple[str, ...], ...], ...]) -> set[str]:
    # Fragments under three letters ("go", "io") are in almost any text: they would let
    # everything through, so such a term counts only in texts another term let in.
    return {
        stemmed[:-1] if stemmed.endswith("i") else stemmed
        for alternatives in wanted
        for content in alternatives
        for stemmed in content[:1]
        if len(stemmed) >= 3
    }


def nearest_word(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` by edit distance (optimal string alignment: a
    swapped pair of letters counts once, "etdc" → "etcd"), for "did you mean".

    Allowed distance: none below 4 letters, 1 for 4-6, 2 for 7 or more. Ties go to the earlier
    candidate (callers list the most frequent first). ``None`` when nothing is close enough or
    when ``word`` itself is a candidate (it is not a typo then). Case-insensitive; returns the
    candidate as given. Linear in the total length of the candidates.
    """
    tied = nearest_words(word, candidates)
    return tied[0] if tied else None


def nearest_words(word: str, candidates: Iterable[str]) -> list[str]:
    """Every candidate at the smallest allowed distance from ``word``, in candidate order.

    The same rules as :func:`nearest_word`, for callers that break ties themselves (kb.search
    picks the one most documents contain); ``[]`` where :func:`nearest_word` gives ``None``.
    """
    word = word.lower()
    if len(word) < 4:
        return []
    best_distance = 1 if len(word) <= 6 else 2
    tied: list[str] = []
    for candidate in candidates:
        lower = candidate.lower()
        if lower == word:
            return []
        if abs(len(lower) - len(word)) > best_distance:
            continue
        # A small cutoff keeps rapidfuzz on its bounded O(n) path.
        distance = OSA.distance(word, lower, score_cutoff=best_distance)
        if distance < best_distance:
            best_distance, tied = distance, [candidate]
        elif distance == best_distance:
            tied.append(candidate)
    return tied


@lru_cache(maxsize=1)
def _english() -> SpellChecker:
    # pyspellchecker's English frequency list (~160,000 words from subtitles and books),
    # loaded once per process on the first correction (~0.3 s).
    return SpellChecker(language="en", distance=1)


def is_english_word(word: str) -> bool:
    """Whether ``word`` (any case) is in the English word list: such a word is never taken
    for a typo, even when no runbook contains it ("refused", "save", "specify")."""
    return bool(word) and word.lower() in _english()


def is_stopword(word: str) -> bool:
    """Whether ``word`` (any case) is one of the function words queries drop."""
    return word.lower() in _STOPWORDS
