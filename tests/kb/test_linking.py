from kb.linking import propose_cause_links, terms

CAUSES = [
    ("env", "Missing or changed environment variable — app crashes on first use"),
    ("schema", "DB schema migration applied but old code still running"),
    ("bug", "Code bug on a specific path introduced in this diff"),
]


def test_terms_drop_stopwords_and_fold_synonyms():
    assert terms("Check the env vars for the DB") == {"environment", "var", "database"}


def test_propose_cause_links_prefers_the_most_overlapping_cause():
    assert propose_cause_links("Errors on a specific path after the code change", CAUSES) == ["bug"]


def test_propose_cause_links_links_every_cause_with_two_shared_terms():
    text = "database migration ran while old code and the environment variable changed"
    assert propose_cause_links(text, CAUSES) == ["schema", "env"]


def test_propose_cause_links_proposes_nothing_without_overlap():
    assert propose_cause_links("Errors only under load", CAUSES) == []
