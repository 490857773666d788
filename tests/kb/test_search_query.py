"""Query understanding for operations text. Pure: no database."""

import sqlite3
import time

import pytest
from django.utils.safestring import SafeString
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.search_query import (
    DEFAULT_SYNONYMS,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    ParsedQuery,
    Term,
    fts5_match,
    highlight,
    index_text,
    match_count,
    nearest_word,
    nearest_words,
    parse_query,
    stem,
    words,
)

UUID = "3f9a2c1e-1b2c-4d5e-8f90-123456789abc"
DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HOSTILE = [
    "a_" * 100_000,
    "A" * 200_000,
    "." * 200_000,
    "1." * 100_000,
    "aB" * 100_000,
    "a " * 100_000,
    "ab-" * 66_666,
    "1:" * 100_000,
    "-x2k4p" * 33_333,
    '"' * 200_000,
    "\u00e9\u0301" * 100_000,
]
# The examples of one test share its fts5 fixture, which they only read.
HYPOTHESIS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def texts(query: ParsedQuery) -> list[str]:
    return [term.text for term in query.terms]


def firsts(query: ParsedQuery) -> list[str]:
    return [term.alternatives[0] for term in query.terms]


def alternatives_of(query: ParsedQuery, first: str) -> tuple[str, ...]:
    return next(term.alternatives for term in query.terms if term.alternatives[0] == first)


@pytest.fixture
def fts5():
    connection = sqlite3.connect(":memory:")
    connection.execute(
        'create virtual table t using fts5(a, tokenize="porter unicode61 remove_diacritics 2")'
    )
    yield connection
    connection.close()


def fts5_hits(connection: sqlite3.Connection, expression: str) -> int:
    return connection.execute("select count(*) from t where t match ?", (expression,)).fetchone()[0]


# words / stem


def test_words_split_on_anything_not_a_letter_or_digit():
    assert words("pg_wal/xlogtemp.12: KubePod-x, 5xx!") == [
        "pg",
        "wal",
        "xlogtemp",
        "12",
        "kubepod",
        "x",
        "5xx",
    ]


def test_words_are_unicode_aware():
    assert words("Störung im Netz — ÉCHEC") == ["störung", "im", "netz", "échec"]


def test_words_agree_with_the_fts5_tokenizer():
    text = "KubePodCrashLooping pg_wal/xlogtemp.12 Störung x²y naïve 5xx e\u0301te"
    connection = sqlite3.connect(":memory:")
    connection.execute('create virtual table t using fts5(a, tokenize="unicode61")')
    connection.execute("create virtual table v using fts5vocab(t, row)")
    connection.execute("insert into t values (?)", (text,))
    vocabulary = {row[0] for row in connection.execute("select term from v")}
    # unicode61 removes diacritics by default; words() leaves that to the engines.
    assert vocabulary == {"kubepodcrashlooping", "pg", "wal", "xlogtemp", "12", "storung"} | {
        "x²y",
        "naive",
        "5xx",
        "ete",
    }
    assert len(words(text)) == len(vocabulary)


def test_stem_is_snowball_english():
    assert [stem(w) for w in ("restarting", "memory", "deployments", "pods")] == [
        "restart",
        "memori",
        "deploy",
        "pod",
    ]


def test_stem_lowercases_and_leaves_very_long_words_alone():
    assert stem("Restarting") == "restart"
    assert stem("a" * 65 + "ing") == "a" * 65 + "ing"


# parse_query: the examples on-call engineers actually type


def test_parse_query_keeps_a_typo_and_drops_filler():
    query = parse_query("5xx spike right after the relase went out")
    assert texts(query) == ["5xx", "spike", "relase"]
    assert {"500", "502", "503", "server error"} <= set(alternatives_of(query, "5xx"))


def test_parse_query_reads_a_postgres_disk_full_error():
    query = parse_query('could not write to file "pg_wal/xlogtemp.12": No space left on device')
    assert firsts(query) == [
        "write",
        "file",
        "pg",
        "wal",
        "xlogtemp",
        "no space left on device",
    ]
    assert {"postgres", "postgresql"} <= set(alternatives_of(query, "pg"))
    assert "disk full" in alternatives_of(query, "no space left on device")
    assert query.terms[-1].text == "No space left on device"
    assert query.dropped == ("12",)


def test_parse_query_splits_an_alert_name():
    query = parse_query("KubePodCrashLooping")
    assert texts(query) == ["KubePodCrashLooping", "Kube", "Pod", "CrashLooping"]
    assert query.terms[0].alternatives == ("kubepodcrashlooping", "kube pod crash looping")
    assert list(alternatives_of(query, "kube")) == ["kube"]  # every Kube… alert: no synonym
    assert {"crashloopbackoff", "crashloop"} <= set(alternatives_of(query, "crash looping"))


def test_parse_query_splits_a_python_key_error():
    query = parse_query("KeyError: 'PAYMENT_SERVICE_URL'")
    assert query.terms[0] == Term("KeyError", ("keyerror", "key error"))
    assert {"payment", "service", "url", "payment service url"} <= set(firsts(query))


def test_parse_query_drops_stopwords_from_prose():
    query = parse_query("two VMs ended up with the same MAC address")
    assert texts(query) == ["VMs", "ended", "MAC", "address"]


def test_parse_query_maps_restarting_to_crash_loops():
    query = parse_query("pods restarting")
    assert firsts(query) == ["pods", "restarting"]
    assert {"crashloopbackoff", "crash loop"} <= set(alternatives_of(query, "restarting"))


def test_parse_query_gives_a_certificate_its_tls_synonyms():
    query = parse_query("certificate expired")
    assert firsts(query) == ["certificate", "expired"]
    assert {"cert", "tls", "ssl", "x509"} <= set(alternatives_of(query, "certificate"))


def test_parse_query_drops_addresses_and_ids_but_keeps_the_port():
    query = parse_query(f"connection refused at 10.0.3.17:5432 req {UUID}")
    assert firsts(query) == ["connection", "refused", "5432", "req"]
    assert query.dropped == ("10.0.3.17", UUID)


@pytest.mark.parametrize(
    "text", ["", "   \n\t", "?! ... --- ()", '""', "the of and to", f"3f9a2c1 10.0.0.1 12 {UUID}"]
)
def test_parse_query_is_empty_without_anything_to_search(text):
    assert parse_query(text).is_empty


# parse_query: noise


@pytest.mark.parametrize(
    "noise",
    [
        UUID,
        UUID.upper(),
        "3f9a2c1",
        "DEADBEEF42",
        "0x7ffd1234",
        DIGEST,
        "10.0.3.17",
        "10.0.0.0/16",
        "2001:db8::1",
        "fe80::1ff:fe23:4567:890a",
        "00:1a:2b:3c:4d:5e",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.123+02:00",
        "2024-05-01",
        "2024/05/01",
        "12:34:56",
        "12:34:56.789",
        "01/May/2024:12:00:00",
        "12345",
        "1714564800",
        "7",
        "42",
        "AKIAIOSFODNN7EXAMPLE42",
    ],
)
def test_parse_query_drops_noise(noise):
    query = parse_query(f"[{noise}],")
    assert query.is_empty
    assert query.dropped == (noise,)


def test_parse_query_keeps_three_and_four_digit_numbers():
    assert firsts(parse_query("exit 137 on 8080")) == ["exit 137", "8080"]
    assert firsts(parse_query("418 5432")) == ["418", "5432"]


@pytest.mark.parametrize(
    ("token", "kept", "dropped"),
    [
        ("checkout-7d9f8b6c5-x2k4p", ["checkout"], ("7d9f8b6c5-x2k4p",)),
        ("payments-api-5c8d7b9f4-qwxz2", ["payments api", "payments", "api"], ("5c8d7b9f4-qwxz2",)),
        ("fluentd-x2k4p", ["fluentd"], ("x2k4p",)),
        ("grpc-http2", ["grpc http2", "grpc", "http2"], ()),
        ("web-0", ["web"], ("0",)),
        ("ip-10-0-3-17.ec2.internal", ["ec2", "internal"], ("ip-10-0-3-17",)),
    ],
)
def test_parse_query_drops_generated_name_parts(token, kept, dropped):
    query = parse_query(token)
    assert firsts(query) == kept
    assert query.dropped == dropped


def test_parse_query_keeps_the_port_of_an_ipv6_address():
    query = parse_query("[2001:db8::1]:8080")
    assert firsts(query) == ["8080"]
    assert query.dropped == ("2001:db8::1",)


def test_parse_query_keeps_the_words_around_noise_in_a_token():
    query = parse_query(f"job_id={UUID} at=2024-05-01T12:00:00Z")
    assert firsts(query) == ["job", "id"]
    assert query.dropped == (UUID, "2024-05-01T12:00:00Z")


# parse_query: identifiers


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("PAYMENT_SERVICE_URL", ["payment service url", "payment", "service", "url"]),
        ("HTTPServerError", ["httpservererror", "http", "server error"]),
        ("etcdMembersDown", ["etcdmembersdown", "etcd", "members", "down"]),
        ("x509", ["x509"]),
        ("X509", ["x509"]),
        (
            "api.payments.svc.cluster.local",
            ["api", "payments", "svc", "cluster", "local"],
        ),
        ("pg_wal/xlogtemp.12", ["pg", "wal", "xlogtemp"]),  # a path: its pieces only
        ("checkout-api", ["checkout api", "checkout", "api"]),
        ("VMs", ["vms"]),
        ("IPv6Address", ["ipv6address", "ipv6", "address"]),
        ("IOError", ["ioerror", "io", "error"]),
        ("Http2Server", ["http2server", "http2", "server"]),
        ("2FA", ["2fa"]),
        ("MySQL", ["mysql"]),
        ("pod's", ["pod"]),
        ("can't", []),
    ],
)
def test_parse_query_splits_identifiers(token, expected):
    assert firsts(parse_query(token)) == expected


def test_parse_query_puts_the_whole_compound_before_its_pieces():
    query = parse_query("disk KubePodCrashLooping")
    assert firsts(query)[:3] == ["disk", "kubepodcrashlooping", "kube"]


def test_parse_query_keeps_a_compound_that_is_a_synonym_whole():
    query = parse_query("OOMKilled CrashLoopBackOff")
    assert texts(query) == ["OOMKilled", "CrashLoopBackOff"]
    assert {"oom", "out of memory", "exit 137"} <= set(alternatives_of(query, "oomkilled"))
    assert "crash loop" in alternatives_of(query, "crashloopbackoff")


def test_parse_query_merges_a_snake_compound_with_its_synonym_phrase():
    query = parse_query("ENV_VAR missing")
    assert texts(query) == ["ENV_VAR", "missing"]
    assert query.terms[0].alternatives == ("env var", "environment variable", "envvar")


def test_parse_query_finds_synonym_phrases_inside_compounds():
    query = parse_query("OutOfMemoryError")
    assert "oomkilled" in alternatives_of(query, "out of memory")


# parse_query: synonyms


def test_parse_query_matches_the_longest_synonym_phrase_first():
    query = parse_query("internal server error")
    assert texts(query) == ["internal server error"]
    assert "5xx" in query.terms[0].alternatives


def test_parse_query_matches_synonyms_by_stems():
    query = parse_query("rolling back, time outs")
    assert "rollback" in alternatives_of(query, "rolling back")
    assert "timeout" in alternatives_of(query, "time outs")


def test_parse_query_gives_a_code_in_two_groups_both():
    assert {"4xx", "403", "unauthorized"} <= set(alternatives_of(parse_query("401"), "401"))


def test_parse_query_uses_the_synonyms_it_is_given():
    query = parse_query("5xx connection pooler", synonyms=[("pgbouncer", "connection pooler")])
    assert [term.alternatives for term in query.terms] == [
        ("5xx",),
        ("connection pooler", "pgbouncer"),
    ]


def test_parse_query_caps_alternatives():
    query = parse_query("zero", synonyms=[("zero", *(f"word{n}x" for n in range(30)))])
    assert len(query.terms[0].alternatives) == 12
    assert query.terms[0].alternatives[0] == "zero"


def test_default_synonyms_are_normalised_lowercase_groups():
    for group in DEFAULT_SYNONYMS:
        assert len(group) >= 2, group
        for entry in group:
            assert entry == " ".join(words(entry)), entry
        assert len(set(group)) == len(group), group


def test_default_synonyms_share_entries_only_between_status_code_groups():
    groups_of: dict[str, int] = {}
    for group in DEFAULT_SYNONYMS:
        for entry in group:
            groups_of[entry] = groups_of.get(entry, 0) + 1
    assert {entry for entry, count in groups_of.items() if count > 1} == {"401", "403", "429"}


@pytest.mark.parametrize(
    "together",
    [
        ("5xx", "502", "server error", "bad gateway", "gateway timeout"),
        ("oom", "oomkilled", "out of memory", "exit 137", "memory limit"),
        ("cert", "certificate", "tls", "ssl", "x509"),
        ("k8s", "kubernetes"),
        ("crashloopbackoff", "crash loop", "crashloop", "restarting", "restart loop"),
        ("env var", "environment variable", "envvar"),
        ("db", "database"),
        ("pg", "postgres", "postgresql"),
        ("latency", "slow", "slowness", "response time"),
        ("disk full", "no space left on device", "out of disk", "disk space", "enospc"),
        ("rollback", "roll back", "revert", "rolled back"),
        ("dns", "nxdomain", "name resolution", "resolve"),
        ("deploy", "deployment", "release", "rollout"),
        ("conn", "connection"),
        ("timeout", "timed out"),
        ("error rate", "errors"),
        ("pvc", "persistent volume claim"),
    ],
)
def test_default_synonyms_hold_the_expected_groups(together):
    assert any(set(together) <= set(group) for group in DEFAULT_SYNONYMS)


@pytest.mark.parametrize("apart", [("db", "postgres"), ("db", "pg"), ("timeout", "latency")])
def test_default_synonyms_keep_near_misses_apart(apart):
    assert not any(set(apart) <= set(group) for group in DEFAULT_SYNONYMS)


# parse_query: quotes, merging, limits


def test_parse_query_keeps_a_quoted_phrase_as_one_term():
    query = parse_query('"no space left" on pg')
    assert query.terms[0] == Term("no space left", ("no space left",))
    assert firsts(query) == ["no space left", "pg"]


def test_parse_query_gives_a_quoted_phrase_its_synonyms():
    query = parse_query("\u201cOut of memory\u201d")
    assert query.terms[0].text == "Out of memory"
    assert "oomkilled" in query.terms[0].alternatives


def test_parse_query_does_not_match_synonyms_across_a_quoted_phrase():
    assert firsts(parse_query('disk "space usage" full')) == ["disk", "space usage", "full"]


def test_parse_query_ignores_an_unpaired_quote():
    assert firsts(parse_query('pods "restarting')) == ["pods", "restarting"]


def test_parse_query_merges_terms_with_the_same_stems():
    query = parse_query("pod Pods POD deployments deploy")
    assert texts(query) == ["pod", "deployments"]
    assert "deploy" not in alternatives_of(query, "deployments")  # same stems as "deployments"


def test_parse_query_keeps_at_most_max_terms_the_first_and_the_last():
    typed = [f"word{chr(97 + n)}" for n in range(26)]
    kept = firsts(parse_query(" ".join(typed)))
    assert len(kept) == MAX_TERMS
    assert kept[: MAX_TERMS // 2] == typed[: MAX_TERMS // 2] and kept[-1] == typed[-1]


def test_parse_query_keeps_a_tracebacks_last_line():
    frames = "".join(
        f'  File "/usr/lib/python3.11/site-packages/app/module{n}.py", line {n}0, in call{n}\n'
        for n in range(8)
    )
    query = parse_query(f"Traceback (most recent call last):\n{frames}KeyError: 'PAYMENT_URL'")
    assert {"keyerror", "payment", "url"} <= set(firsts(query))


def test_parse_query_reads_the_start_and_end_of_a_long_paste():
    text = "start " + "x" * MAX_QUERY_CHARS + " disk full"
    query = parse_query(text)
    assert len(query.raw) == MAX_QUERY_CHARS
    assert query.raw.startswith("start ") and query.raw.endswith(" disk full")
    assert "disk full" in firsts(query) and "start" in firsts(query)


def test_clip_does_not_cut_a_word_in_two():
    from kb.search_query import clip

    text = " ".join(f"w{i}" for i in range(3000))
    clipped = clip(text)
    assert len(clipped) <= MAX_QUERY_CHARS
    head, tail = clipped.split("\n")
    assert text.startswith(head + " ") and text.endswith(" " + tail)
    assert not set(parse_query(text).dropped) & {"66", "6"}  # no stub of a cut word


@HYPOTHESIS
@given(st.text(max_size=300))
def test_parse_query_output_keeps_its_promises_for_any_text(text):
    query = parse_query(text)
    assert query.raw == text[:MAX_QUERY_CHARS]
    assert len(query.terms) <= MAX_TERMS
    keys = [tuple(stem(w) for w in words(term.alternatives[0])) for term in query.terms]
    assert len(set(keys)) == len(keys)
    for term in query.terms:
        assert term.text
        assert 1 <= len(term.alternatives) <= 12
        for alternative in term.alternatives:
            assert alternative == " ".join(words(alternative)) != ""
        alternative_keys = [tuple(stem(w) for w in words(a)) for a in term.alternatives]
        assert len(set(alternative_keys)) == len(alternative_keys)


# index_text


def test_index_text_appends_the_pieces_of_identifiers():
    text = "Alert KubePodCrashLooping fired; check pg_wal/xlogtemp and api.payments.svc."
    assert index_text(text) == (text + " kube pod crash looping pg wal xlogtemp api payments svc")


def test_index_text_splits_a_title_that_is_one_identifier():
    assert index_text("KubePodCrashLooping") == "KubePodCrashLooping kube pod crash looping"


def test_index_text_leaves_plain_text_alone():
    assert index_text("The disk is full. Don't panic!") == "The disk is full. Don't panic!"


@HYPOTHESIS
@given(st.text(max_size=400))
def test_index_text_keeps_the_text_and_at_most_doubles_it(text):
    indexed = index_text(text)
    assert indexed.startswith(text)
    assert len(indexed) <= 2 * len(text) + 65


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: repr(s[:6]))
def test_index_text_at_most_doubles_hostile_text(hostile):
    assert len(index_text(hostile)) <= 2 * len(hostile) + 65


def test_index_text_makes_identifier_pieces_searchable(fts5):
    fts5.execute("insert into t values (?)", (index_text("Alert: KubePodCrashLooping"),))
    fts5.execute("insert into t values (?)", (index_text("ERROR pg_wal/xlogtemp.12"),))
    assert fts5_hits(fts5, fts5_match(parse_query("crash looping"))) == 1
    assert fts5_hits(fts5, fts5_match(parse_query("KubePodCrashLooping"))) == 1
    assert fts5_hits(fts5, fts5_match(parse_query("wal"))) == 1


# fts5_match


def test_fts5_match_quotes_every_alternative_and_ors_them():
    query = parse_query("certificate expired")
    assert fts5_match(query) == ('"certificate" OR "cert" OR "tls" OR "ssl" OR "x509" OR "expired"')


def test_fts5_match_is_empty_for_an_empty_query():
    assert fts5_match(parse_query("  the  ")) == ""


def test_fts5_match_rebuilds_alternatives_from_their_words():
    query = ParsedQuery("x", (Term("x", ("!!!", 'a "b" NEAR(c)', "")), Term("y", ("a b c",))), ())
    assert fts5_match(query) == '"a b near c" OR "a b c"'


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"""',
        'say "hi',
        "AND OR NOT NEAR",
        "NEAR(a b, 3)",
        "a AND NOT b",
        "pod*",
        "*",
        "^pod",
        "a:b",
        "t:pod",
        "{a b}:c",
        "(pod",
        "pod)",
        "- + ^ * : ( ) { } [ ]",
        "a\x00b",
        "\x00",
        "🔥 pod 💥",
        "שגיאה בשרת",
        "خطأ في الخادم",
        "e\u0301\u0301",
        "x\u200bpod",
        "'; drop table t; --",
    ],
)
def test_fts5_match_never_breaks_fts5_syntax(fts5, text):
    fts5.execute("insert into t values (?)", ("pod crashed with a server error 502",))
    query = parse_query(text)
    expression = fts5_match(query)
    assert (expression == "") == query.is_empty
    if expression:  # MATCH '' is itself a syntax error: callers skip the empty query
        fts5_hits(fts5, expression)


@HYPOTHESIS
@given(st.text(max_size=200))
def test_fts5_match_never_breaks_fts5_syntax_for_any_text(fts5, text):
    expression = fts5_match(parse_query(text))
    if expression:
        fts5_hits(fts5, expression)


def test_fts5_match_finds_pages_that_use_a_synonym(fts5):
    fts5.execute("insert into t values (?)", ("write failed: No space left on device",))
    fts5.execute("insert into t values (?)", ("The pod was OOMKilled",))
    fts5.execute("insert into t values (?)", ("Rotate the TLS certificate",))
    assert fts5_hits(fts5, fts5_match(parse_query("disk full"))) == 1
    assert fts5_hits(fts5, fts5_match(parse_query("out of memory"))) == 1
    assert fts5_hits(fts5, fts5_match(parse_query("cert expired"))) == 1


# highlight


def test_highlight_marks_every_word_with_a_query_stem():
    html = highlight("Pods keep restarting; the pod restarted", parse_query("restart pod"))
    assert html == (
        "<mark>Pods</mark> keep <mark>restarting</mark>; the <mark>pod</mark> "
        "<mark>restarted</mark>"
    )
    assert isinstance(html, SafeString)


def test_highlight_marks_synonyms_and_identifier_pieces():
    html = highlight("KubePodCrashLooping: TLS failed", parse_query("crash loop certificate"))
    assert html == "<mark>KubePodCrashLooping</mark>: <mark>TLS</mark> failed"


def test_highlight_does_not_mark_stopwords_of_phrases():
    html = highlight("on the device", parse_query("no space left on device"))
    assert html == "on the <mark>device</mark>"


def test_highlight_escapes_hostile_text():
    html = highlight('<script>alert("pod")</script> & pod', parse_query("pod"))
    assert "<script>" not in html
    assert html == (
        "&lt;script&gt;alert(&quot;<mark>pod</mark>&quot;)&lt;/script&gt; &amp; <mark>pod</mark>"
    )


@HYPOTHESIS
@given(st.text(max_size=300), st.text(max_size=40))
def test_highlight_emits_no_markup_but_its_marks(text, q):
    html = highlight(text, parse_query(q), width=80)
    assert "<" not in html.replace("<mark>", "").replace("</mark>", "")
    assert html.count("<mark>") == html.count("</mark>")


def test_highlight_centres_a_long_text_on_the_first_match():
    text = "filler " * 100 + "the disk is full " + "tail " * 100
    html = highlight(text, parse_query("disk"), width=90)
    assert html.startswith("… filler")
    assert html.endswith(" …")
    assert "<mark>disk</mark>" in html
    assert len(html.replace("<mark>", "").replace("</mark>", "")) <= 90 + 4


def test_highlight_shows_the_start_without_a_match():
    text = "word " * 100
    html = highlight(text, parse_query("nothing"), width=50)
    assert html.startswith("word word")
    assert html.endswith(" …")
    assert "<mark>" not in html


# match_count


def test_match_count_counts_terms_with_an_alternative_present():
    query = parse_query("pod out of memory latency")
    assert match_count("Pods are OOMKilled under load", query) == 2
    assert match_count("Slow responses", query) == 1
    assert match_count("nothing here", query) == 0


def test_match_count_needs_every_content_word_of_a_phrase():
    query = parse_query('"disk pressure"')
    assert match_count("pressure on the disk", query) == 1
    assert match_count("disk only", query) == 0


def test_match_count_sees_identifier_pieces():
    assert match_count("Alert KubePodCrashLooping", parse_query("crash looping pod")) == 2


def test_match_count_sees_a_two_letter_synonym():
    query = parse_query("database", synonyms=DEFAULT_SYNONYMS)
    assert match_count("The DB refuses writes.", query) == 1
    assert match_count("feedback loop", query) == 0  # "db" inside a word is not the word


def test_match_count_is_zero_for_an_empty_query():
    assert match_count("anything", parse_query("")) == 0


# nearest_word


def test_nearest_word_allows_one_edit_for_four_to_six_letters():
    assert nearest_word("relase", ["deploy", "release"]) == "release"
    assert nearest_word("dsik", ["disk"]) == "disk"  # a swapped pair is one edit (OSA)
    assert nearest_word("dsyk", ["disk"]) is None


def test_nearest_word_allows_two_edits_for_seven_letters_or_more():
    assert nearest_word("postrges", ["postgres"]) == "postgres"
    assert nearest_word("kubrenetse", ["kubernetes"]) == "kubernetes"  # two swaps
    assert nearest_word("kbrntes", ["kubernetes"]) is None


def test_nearest_word_ignores_words_under_four_letters():
    assert nearest_word("dsn", ["dns", "dsn1"]) is None


def test_nearest_word_breaks_ties_by_candidate_order():
    assert nearest_word("pods", ["podz", "pads"]) == "podz"
    assert nearest_word("pods", ["pads", "podz"]) == "pads"
    assert nearest_word("certifcate", ["certificates", "certificate"]) == "certificate"


def test_nearest_word_is_none_when_the_word_is_a_candidate():
    assert nearest_word("Relase", ["release", "relase"]) is None


def test_nearest_word_reads_any_iterable_and_keeps_the_candidate_as_given():
    assert nearest_word("kubernets", (w for w in ["Kubernetes"])) == "Kubernetes"
    assert nearest_word("nothing", iter([])) is None


def test_nearest_words_lists_every_candidate_at_the_smallest_distance():
    assert nearest_words("pods", ["pads", "pods1", "podz", "pxdz"]) == ["pads", "pods1", "podz"]
    assert nearest_words("relase", ["relate", "release"]) == ["relate", "release"]
    assert nearest_words("relase", ["relase"]) == []
    assert nearest_words("dsn", ["dns"]) == []


# linear time


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: repr(s[:6]))
@pytest.mark.parametrize(
    "function",
    [
        parse_query,
        words,
        index_text,
        lambda s: fts5_match(parse_query(s)),
        lambda s: highlight(s, parse_query("crash looping out of memory 5xx a")),
        lambda s: match_count(s, parse_query("crash looping out of memory 5xx a")),
        lambda s: nearest_word(s, [s[:-1], s + "x"]),
    ],
    ids=["parse_query", "words", "index_text", "fts5_match", "highlight", "match_count", "near"],
)
def test_functions_handle_200_kb_of_hostile_text_in_linear_time(function, hostile):
    started = time.perf_counter()
    function(hostile)
    assert time.perf_counter() - started < 1.0


def test_parse_query_drops_structured_log_field_names():
    line = 'level=error ts=2024-05-14T03:12:44Z caller=dispatch.go:354 msg="Notify failed"'
    assert firsts(parse_query(line)) == ["error", "dispatch", "go", "354", "notify failed"]
    json_line = '{"level":"warn","msg":"apply request took too long"}'
    assert "level" not in firsts(parse_query(json_line))


def test_parse_query_reads_a_long_quoted_message_word_by_word():
    query = parse_query('err="notify retry canceled after 4 attempts: unexpected status code 401"')
    assert firsts(query)[:3] == ["notify", "retry", "canceled"]
    assert "401" in firsts(query)


def test_parse_query_keeps_a_short_quoted_phrase_whole():
    assert firsts(parse_query('"connection refused" upstream')) == [
        "connection refused",
        "upstream",
    ]
