"""The reader and writer, without a database."""

import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.markdown_io import (
    ParsedRunbook,
    RunbookParseError,
    decode_runbook_bytes,
    parse_runbook,
    render_runbook,
    slug_from_path,
)
from kb.plain_form import label_of
from kb.section_names import section_kind
from tests.conftest import DATA_DIR, SAMPLES_DIR, SEED_PATH, SEED_SLUG, SHARED_DIR

STRUCTURE = [
    "title", "summary", "symptom", "patterns", "causes", "checks", "signal_examples",
    "drill_paths", "fix_patterns", "not_the_issue_condition", "not_the_issue_items", "pivots",
    "connections", "open_questions", "related_reading", "extra_sections",
]  # fmt: skip


def structure(rb: ParsedRunbook) -> dict:
    return {name: getattr(rb, name) for name in STRUCTURE}


def assert_founding_shape(rb: ParsedRunbook) -> None:
    assert rb.title == "Debug: High Error Rate After Deploy"
    assert rb.summary.startswith("Runbook for diagnosing a spike in errors")
    assert rb.symptom.startswith("Error rate or 5xx responses spike")
    assert [p.observation for p in rb.patterns] == [
        "Errors on all endpoints immediately",
        "Errors on specific endpoints only",
        "Errors spike then recover partially",
        "Errors only under load",
        "Errors start minutes after deploy",
    ]
    assert rb.patterns[0].diagnosis == (
        "App failing to start — bad config, missing env var, schema mismatch"
    )
    assert [c.title for c in rb.causes] == [
        "Missing or changed environment variable",
        "DB schema migration applied but old code still running during rollout",
        "Code bug on a specific path introduced in this diff",
        "Dependency version change with a breaking API",
        "Config change not applied to all instances",
    ]
    assert rb.causes[0].detail == "app starts but crashes on first use"
    assert [c.title for c in rb.checks] == [
        "Check error logs immediately",
        "Confirm which endpoints are failing",
        "Check whether all instances are on the new version",
        "Check for any DB migration that ran alongside this deploy",
        "Diff the deploy",
    ]
    assert len(rb.signal_examples) == 1
    assert "KeyError: 'PAYMENT_SERVICE_URL'" in rb.signal_examples[0]
    assert [(d.text, d.target) for d in rb.drill_paths] == [
        ("App crashing on startup", "cloud/kubernetes"),
        ("DB migration breaking queries", "cs-fundamentals/database-design"),
        ("Rolling deploy split-brain behaviour", "cloud/blue-green-deployment"),
        ("Config and secrets not propagated", "cloud/secrets-management"),
        ("Tracing which code path is failing", "observability/tracing"),
    ]
    assert len(rb.fix_patterns) == 5
    assert rb.fix_patterns[1].text == (
        "Check env vars and secrets first — fastest to verify, most common cause"
    )
    assert rb.not_the_issue_condition == (
        "If errors appeared before the deploy or the deploy timestamp does not correlate:"
    )
    assert len(rb.not_the_issue_items) == 3
    assert [p.target for p in rb.pivots] == ["cs-fundamentals/debugging-systems"]
    assert [c.target for c in rb.connections] == [
        "cs-fundamentals/debugging-systems",
        "cloud/blue-green-deployment",
        "cs-fundamentals/database-design",
        "observability/tracing",
        "cloud/secrets-management",
        "cloud/kubernetes",
    ]
    assert len(rb.open_questions) == 2
    assert rb.related_reading == []
    assert rb.extra_sections == []


def test_parse_runbook_reads_the_founding_seed(seed_text):
    assert_founding_shape(parse_runbook(seed_text, slug=SEED_SLUG))


def test_parse_runbook_keeps_cause_order_and_gives_stable_keys(seed_text):
    rb = parse_runbook(seed_text)
    keys = [c.key for c in rb.causes]
    assert keys[0] == "missing-or-changed-environment-variable"
    assert len(set(keys)) == 5
    assert keys == [c.key for c in parse_runbook(seed_text).causes]


def test_parse_runbook_reads_seed_with_bom_and_crlf(seed_text):
    text = "\ufeff" + seed_text.replace("\n", "\r\n")
    assert structure(parse_runbook(text)) == structure(parse_runbook(seed_text))


def test_parse_runbook_markdown_source_form_equals_plain_form():
    plain = parse_runbook(
        (SAMPLES_DIR / "cloud/kubernetes.txt").read_text(), slug="cloud/kubernetes"
    )
    source_text = (DATA_DIR / "kubernetes_source_form.md").read_text()
    source = parse_runbook(source_text)
    assert source.slug == "cloud/kubernetes"
    assert source.tags == ["kubernetes", "deploys"]
    assert source.front_matter == {
        "updated": "2026-10-01",
        "h1": "Pods crash-looping (Markdown source form)",
    }
    assert len(source.patterns) == 6
    assert len(source.causes) == 6
    assert len(source.checks) == 5
    assert len(source.signal_examples) == 1
    assert len(source.drill_paths) == 4
    assert len(source.fix_patterns) == 5
    assert len(source.not_the_issue_items) == 3
    assert [p.target for p in source.pivots] == ["cs-fundamentals/debugging-systems"]
    assert len(source.connections) == 6
    assert len(source.open_questions) == 2
    assert len(source.related_reading) == 2
    assert structure(source) == structure(plain)


def test_parse_runbook_markdown_source_form_with_bom_and_crlf():
    text = (DATA_DIR / "kubernetes_source_form.md").read_text()
    crlf = "\ufeff" + text.replace("\n", "\r\n")
    assert structure(parse_runbook(crlf)) == structure(parse_runbook(text))


def test_parse_runbook_task_and_numbered_lists_are_items():
    rb = parse_runbook(
        "# Debug: X\n\n## Likely Causes\n\n1. First — a\n2) Second\n\n"
        "## First Checks\n\n- [ ] Look at logs\n- [x] Look at metrics (~7 min)\n"
    )
    assert [c.title for c in rb.causes] == ["First", "Second"]
    assert [c.title for c in rb.checks] == ["Look at logs", "Look at metrics"]
    assert [c.minutes for c in rb.checks] == [None, 7]


def test_parse_runbook_heading_inside_code_fence_is_not_a_section():
    rb = parse_runbook(
        "# Debug: X\n\n## Diagnosis\n\n- Run the query\n\n  ```sql\n  # Mitigation\n"
        "  select 1 | 2;\n  ```\n\n## Impact\n\nBad.\n"
    )
    assert len(rb.checks) == 1
    assert "# Mitigation" in rb.checks[0].detail
    assert rb.fix_patterns == []
    assert [s.title for s in rb.extra_sections] == ["Impact"]


def test_parse_runbook_escaped_pipe_inside_code_is_not_a_table_cell():
    # GFM: a pipe splits cells even inside code spans unless escaped; the renderer agrees.
    rb = parse_runbook(
        "# Debug: X\n\n## Quick Diagnosis\n\n| Pattern | Likely cause |\n|---|---|\n"
        "| `grep a \\| wc -l` is high | Too many `a\\|b` lines |\n"
    )
    assert [(p.observation, p.diagnosis) for p in rb.patterns] == [
        ("`grep a | wc -l` is high", "Too many `a|b` lines")
    ]


def test_parse_runbook_unclosed_fence_runs_to_end_of_file():
    rb = parse_runbook("# Debug: X\n\n## Diagnosis\n\n```shell\n$ ls\n\n## Mitigation\n\nTODO\n")
    assert rb.fix_patterns == []
    assert rb.checks == []  # a section that is only code opens with it; no item is invented
    assert "## Mitigation" in rb.section_intros["checks"]
    assert rb.section_intros["checks"].rstrip().endswith("```")


def test_parse_runbook_keeps_template_and_html_text_verbatim():
    text = (
        "# Debug: {{ settings.SECRET_KEY }}\n\nSummary <% evil %> {% load x %}\n\n"
        "## Likely Causes\n\n- <script>alert(1)</script> — {{ request.user }}\n"
    )
    rb = parse_runbook(text)
    assert rb.title == "Debug: {{ settings.SECRET_KEY }}"
    assert rb.summary == "Summary <% evil %> {% load x %}"
    assert rb.causes[0].title == "<script>alert(1)</script>"
    assert rb.causes[0].detail == "{{ request.user }}"


def test_parse_runbook_keeps_unknown_sections():
    rb = parse_runbook("# Debug: X\n\n## Impact\n\nEverything is slow.\n\n### Detail\n\nMore.\n")
    assert [(s.title, s.body) for s in rb.extra_sections] == [
        ("Impact", "Everything is slow.\n\n### Detail\n\nMore.")
    ]


def test_parse_runbook_relative_md_links_become_connections():
    rb = parse_runbook(
        "# Alert\n\n## Diagnosis\n\nSee [general diagnosis](helpers/diagnosis.md) and "
        "[up](../other/Alert.md#x) and [web](https://example.com/a.md).\n",
        slug="openshift/ceph/cephclustererrorstate",
    )
    assert [c.target for c in rb.connections] == [
        "openshift/ceph/helpers/diagnosis",
        "openshift/other/alert",
    ]


def test_parse_runbook_proposes_cause_links_by_word_overlap(seed_text):
    rb = parse_runbook(seed_text)
    by_observation = {p.observation: p.causes for p in rb.patterns}
    assert by_observation["Errors on specific endpoints only"] == [
        "code-bug-on-a-specific-path-introduced-in-this-diff"
    ]
    assert (
        "db-schema-migration-applied-but-old-code-still-running"
        in (by_observation["Errors start minutes after deploy"])
    )
    assert not any(p.confirmed for p in rb.patterns)


def test_parse_runbook_front_matter_links_are_confirmed(seed_text):
    text = (
        "---\ncause_links:\n  checks:\n"
        "    diff-the-deploy: [dependency-version-change-with-a-breaking-api]\n"
        "---\n" + seed_text
    )
    rb = parse_runbook(text)
    check = next(c for c in rb.checks if c.key == "diff-the-deploy")
    assert check.causes == ["dependency-version-change-with-a-breaking-api"]
    assert check.confirmed


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty"),
        ("   \n\n", 1, "empty"),
        ("\n\nQuick Diagnosis\n| a | b |\n", 3, "no title"),
        ("## Meaning\n\nstuff\n", 1, "no title"),
        ("- a list first\n", 1, "no title"),
        ("---\ntitle: [unclosed\n---\n# T\n", 2, "front matter is not valid YAML"),
        ("---\ntitle: x\n", 1, "never closed"),
        ("---\n- a\n- b\n---\n# T\n", 2, "mapping"),
        ("---\ntags: [a]\n---\n\n", 4, "no title"),
    ],
)
def test_parse_runbook_rejects_bad_input_with_line(text, line, message):
    with pytest.raises(RunbookParseError) as err:
        parse_runbook(text)
    assert err.value.line == line
    assert message in err.value.message


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "empty"),
        (b"# Title\nok\n\xff\xfe bad\n", 3, "undecodable"),
        (b"# Title\n\x89PNG\x00\x00\x1a", 2, "binary"),
        (b"# T\n" + b"x" * (3 * 1024 * 1024), 1, "over the 2 MB limit"),
    ],
)
def test_decode_runbook_bytes_rejects_bad_files(data, line, message):
    with pytest.raises(RunbookParseError) as err:
        decode_runbook_bytes(data)
    assert err.value.line == line
    assert message in err.value.message


def test_decode_runbook_bytes_strips_bom():
    assert decode_runbook_bytes("\ufeff# T\n".encode()) == "# T\n"


def test_slug_from_path_slugifies_each_segment():
    assert slug_from_path("Cloud/Blue Green.md") == "cloud/blue-green"
    assert slug_from_path("openshift/etcd/etcdMembersDown.md") == "openshift/etcd/etcdmembersdown"


@pytest.mark.parametrize("path", sorted(SAMPLES_DIR.rglob("*.txt")), ids=lambda p: p.stem)
def test_render_runbook_round_trips_samples(path):
    parsed = parse_runbook(path.read_text())
    assert structure(parse_runbook(render_runbook(parsed))) == structure(parsed)


def test_render_runbook_round_trips_multiline_details():
    text = (
        "# Alert\n\n## Diagnosis\n\nLogin to the cluster. Check nodes.\n\n"
        "```shell\n$ kubectl get nodes\n```\n\n"
        "### General health\n\nRun this:\n\n```shell\n$ etcdctl endpoint health\n```\n\n"
        "- Template params such as:\n  - pod priority\n  - resources\n\n"
        "## Mitigation\n\n### Data retention\n\nDelete old data.\n\n- Item\n"
    )
    parsed = parse_runbook(text)
    assert [c.title for c in parsed.checks] == ["Login to the cluster.", "General health"]
    again = parse_runbook(render_runbook(parsed))
    assert structure(again) == structure(parsed)


# --------------------------------------------------------------------------- Markdown as
# GitHub, GitLab and MkDocs authors write it (issue 13). Each example fails on the old
# line-based reader.

PUBLIC_DIR = SHARED_DIR / "fixtures" / "public-runbooks"


def test_parse_runbook_title_is_the_h1_after_comment_toc_and_badges():
    rb = parse_runbook(
        "<!-- generated; do not edit -->\n\n[[_TOC_]]\n\n"
        "[![build](https://ci.example.com/badge.svg)](https://ci.example.com)\n\n"
        "# Disk full on a database host\n\nWhat to do.\n"
    )
    assert rb.title == "Disk full on a database host"
    assert "What to do." in rb.summary
    assert all(c.target != "toc" for c in rb.connections)


def test_parse_runbook_keeps_a_differing_h1_under_a_front_matter_title():
    rb = parse_runbook("---\ntitle: Disk almost full\n---\n\n# NodeDiskFull\n\n## Meaning\n\nX.\n")
    assert rb.title == "Disk almost full"
    assert rb.front_matter["h1"] == "NodeDiskFull"
    again = parse_runbook(render_runbook(rb))
    assert (again.title, again.front_matter["h1"]) == ("Disk almost full", "NodeDiskFull")


def test_parse_runbook_splits_a_document_sectioned_only_with_h3():
    rb = parse_runbook(
        "# Queue backlog\n\n### Symptoms\n\nMessages pile up.\n\n"
        "### Likely causes\n\n- Consumer crashed\n- Poison message\n\n"
        "### Resolution\n\n1. Restart the consumer\n"
    )
    assert rb.symptom == "Messages pile up."
    assert [c.title for c in rb.causes] == ["Consumer crashed", "Poison message"]
    assert [f.text for f in rb.fix_patterns] == ["Restart the consumer"]


def test_parse_runbook_lead_in_line_ending_in_colon_is_not_an_item():
    rb = parse_runbook(
        "# Queue backlog\n\n## Diagnosis\n\nCheck the following:\n\n"
        "- Consumer lag in Grafana\n- Dead-letter queue size\n"
    )
    assert [c.title for c in rb.checks] == ["Consumer lag in Grafana", "Dead-letter queue size"]
    assert rb.section_intros["checks"] == "Check the following:"


def test_parse_runbook_list_straight_after_a_text_line_is_a_list():
    rb = parse_runbook(
        "# Cron\n\n## Likely causes\n\nDoes three things:\n* Wrong timezone\n* Lock held\n"
    )
    assert [c.title for c in rb.causes] == ["Wrong timezone", "Lock held"]


def test_parse_runbook_fence_indented_in_a_numbered_step_stays_code():
    rb = parse_runbook(
        "# Etcd\n\n## Diagnosis\n\n1. List the members:\n\n   ```shell\n"
        "   $ etcdctl member list\n   $ etcdctl endpoint health\n   ```\n\n2. Check disk latency\n"
    )
    assert [c.title for c in rb.checks] == ["List the members:", "Check disk latency"]
    assert rb.checks[0].detail == (
        "```shell\n$ etcdctl member list\n$ etcdctl endpoint health\n```"
    )


def test_parse_runbook_two_space_nested_list_stays_nested():
    rb = parse_runbook(
        "# Pods\n\n## Diagnosis\n\n- Check the pod template such as:\n  - priority\n"
        "  - resources\n- Check events\n"
    )
    assert [c.title for c in rb.checks] == ["Check the pod template such as:", "Check events"]
    assert rb.checks[0].detail == "- priority\n- resources"


def test_parse_runbook_admonition_under_fixes_is_not_a_fix_of_its_own():
    rb = parse_runbook(
        "# Disk\n\n## Mitigation\n\n- Delete old WAL files\n\n"
        '!!! warning "Careful"\n    Never delete the newest segment.\n\n'
        "> [!CAUTION]\n> Take a snapshot first.\n\n"
        ":::note\nAsk the DBA.\n:::\n\n- Grow the volume\n"
    )
    assert [f.text.split("\n")[0] for f in rb.fix_patterns] == [
        "Delete old WAL files",
        "Grow the volume",
    ]
    first = rb.fix_patterns[0].text
    assert (
        "!!! warning" in first and "[!CAUTION]" in first and ":::note\nAsk the DBA.\n:::" in first
    )


def test_parse_runbook_plain_form_short_line_before_a_list_starts_an_extra_section(seed_text):
    text = seed_text.rstrip("\n") + "\nCommunication\n- Post in #incidents\n- Page the owner\n"
    rb = parse_runbook(text)
    assert rb.extra_sections[-1].title == "Communication"
    assert rb.extra_sections[-1].body == "- Post in #incidents\n- Page the owner"
    assert len(rb.open_questions) == 2


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("Debugging", "checks"),
        ("Troubleshooting steps", "checks"),
        ("How to investigate", "checks"),
        ("2. How to Investigate:", "checks"),
        ("Resolution steps", "fix_patterns"),
        ("Workaround", "fix_patterns"),
        ("Remediation", "fix_patterns"),
        ("**Recovery**", "fix_patterns"),
        ("Problem description", "symptom"),
        ("Background", "symptom"),
    ],
)
def test_parse_runbook_maps_section_aliases_ignoring_case_numbering_and_marks(heading, kind):
    rb = parse_runbook(f"# Alert\n\n## {heading}\n\n- Look at it\n")
    assert rb.section_order == [kind]


def test_parse_runbook_repeated_symptom_resolution_groups_stay_extra_sections():
    rb = parse_runbook(
        "# Backups\n\n## Symptoms\n\nJob failed.\n\n## Resolution\n\nRerun it.\n\n"
        "## Symptoms\n\nJob slow.\n\n## Resolution\n\nAdd workers.\n"
    )
    assert rb.symptom == "" and rb.fix_patterns == []
    assert [(s.title, s.body) for s in rb.extra_sections] == [
        ("Symptoms", "Job failed."),
        ("Resolution", "Rerun it."),
        ("Symptoms", "Job slow."),
        ("Resolution", "Add workers."),
    ]


def test_parse_runbook_resolves_html_site_reference_and_wiki_links():
    rb = parse_runbook(
        "# Lag\n\n## Diagnosis\n\n- See [the primary](../db/primary.html#load)\n"
        "- See [published](https://runbooks.example.com/net/dns/) and [ref][r]\n"
        "- Then [[dns-resolution]] and [[storage/disk|the disk one]]\n\n"
        "## Notes\n\n[r]: ./replica-lag.md\n",
        slug="storage/lag",
        site_urls=["https://runbooks.example.com/"],
    )
    assert [c.target for c in rb.connections] == [
        "db/primary",
        "net/dns",
        "storage/replica-lag",
        "dns-resolution",
        "storage/disk",
    ]


def test_parse_runbook_wiki_link_with_alias_in_a_table_cell_keeps_the_drill_path():
    rb = parse_runbook(
        "# Errors\n\n## Drill Paths\n\n| Suspect | Go to |\n|---|---|\n"
        "| DNS flapping | [[networking/dns-resolution|DNS runbook]] |\n"
    )
    assert [(d.text, d.target) for d in rb.drill_paths] == [
        ("DNS flapping", "networking/dns-resolution")
    ]


def test_parse_runbook_reports_links_it_cannot_follow_with_their_line():
    rb = parse_runbook(
        "# Errors\n\n## Diagnosis\n\n- Ask [upstream](../../../outside.md)\n\n"
        "## Drill Paths\n\n| Suspect | Go to |\n|---|---|\n| Disk | somewhere else |\n",
        slug="a/b",
    )
    assert rb.warnings == [
        "line 5: link '../../../outside.md' leads outside the collection",
        "line 11: drill path 'somewhere else' is not a runbook slug",
    ]


def test_parse_runbook_generic_sections_keep_the_authors_order():
    rb = parse_runbook("# A\n\n## Meaning\n\nM.\n\n## Impact\n\nI.\n\n## Diagnosis\n\nD.\n")
    assert rb.section_order == ["symptom", "extra:0", "checks"]


# --------------------------------------------------------------------------- hostile text


HOSTILE = {
    "heading of spaces": "# T\n\n## " + " " * 4000 + "x" + " " * 4000 + "#\n",
    "open wiki links": "# T\n\n## Diagnosis\n\n- " + "[[" * 10_000 + "\n",
    "open links": "# T\n\n## Diagnosis\n\n- " + "](" * 20_000 + "\n",
    "minute hints": "# T\n\n## Checks\n\n- a" + " (" * 20_000 + "~5 min)" * 2000 + "\n",
    "dash runs": "# T\n\n## Causes\n\n- a" + " -" * 50_000 + "\n",
    "deep list": "# T\n\n## Causes\n\n" + "".join("  " * i + "- x\n" for i in range(250)),
    "deep quote": "# T\n\n## Causes\n\n" + ">" * 50_000 + " x\n",
    "many sections": "# T\n" + "## Impact\n- a\n" * 2_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_parse_runbook_hostile_text_finishes_within_a_second(name):
    import time

    started = time.perf_counter()
    rb = parse_runbook(HOSTILE[name])
    render_runbook(rb)
    assert time.perf_counter() - started < 1.0, name


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PUBLIC_DIR.rglob("*.md")),
    ids=lambda p: str(p.relative_to(PUBLIC_DIR)),
)
def test_render_runbook_round_trips_public_runbooks(path):
    slug = slug_from_path(str(path.relative_to(PUBLIC_DIR)))
    parsed = parse_runbook(path.read_text(), slug=slug)
    again = parse_runbook(render_runbook(parsed), slug=slug)
    assert structure(again) == structure(parsed)
    assert again.section_order == parsed.section_order
    assert again.section_intros == parsed.section_intros


def test_render_runbook_round_trips_the_seed(seed_text):
    parsed = parse_runbook(seed_text, slug=SEED_SLUG)
    assert structure(parse_runbook(render_runbook(parsed), slug=SEED_SLUG)) == structure(parsed)


def test_parse_runbook_public_runbooks_have_no_warnings():
    for path in sorted(PUBLIC_DIR.rglob("*.md")):
        slug = slug_from_path(str(path.relative_to(PUBLIC_DIR)))
        assert parse_runbook(path.read_text(), slug=slug).warnings == [], path


MARKDOWN_BITS = [
    "# ", "## ", "### ", "- ", "* ", "1. ", "  ", "    ", "> ", "> [!NOTE]", "!!! warning",
    ":::note", ":::", "```", "~~~", "|", "|---|", "[[", "]]", "[", "](", ")", "<", ">", "<pod>",
    "**", "_", "`", "---", "+++", "\n", "\n\n", "Symptom:", "Pivot to ", "Likely Causes",
    "First Checks", "Diagnosis", "Mitigation", " — ", "(~5 min)", "\t", "\\", "&amp;", "\u200b",
]  # fmt: skip


@given(
    st.lists(
        st.one_of(st.sampled_from(MARKDOWN_BITS), st.text(max_size=12)), min_size=1, max_size=80
    )
)
@settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
def test_parse_runbook_any_text_reads_or_fails_cleanly_and_round_trips(pieces):
    text = "".join(pieces)
    try:
        rb = parse_runbook(text, slug="fuzz/case")
    except RunbookParseError as exc:
        assert exc.line >= 1
        return
    assert rb.title and "\n" not in rb.title
    exported = render_runbook(rb)
    assert not (_words(_authored_text(text)) - _words(exported)), exported
    again = parse_runbook(exported, slug="fuzz/case")
    assert again.title == rb.title
    assert [c.key for c in again.causes] == [c.key for c in rb.causes]


WORD_RE = re.compile(r"\w+")
LIST_NUMBER_RE = re.compile(r"^[ \t]*\d{1,9}[.)](?=[ \t]|$)", re.M)


def _words(text: str) -> Counter:
    return Counter(WORD_RE.findall(LIST_NUMBER_RE.sub("", text)))


def _authored_text(text: str) -> str:
    """What an author wrote that a reader must keep: all but HTML comments, TOC marks and
    the names of the sections mapped onto Fieldguide's parts."""
    out, at = [], 0
    while (start := text.find("<!--", at)) != -1:
        out.append(text[at:start])
        end = text.find("-->", start)
        at = len(text) if end == -1 else end + 3
    out.append(text[at:])
    # Section names are mapped onto Fieldguide's parts by design (kb.section_names).
    lines = "".join(out).replace("[[_TOC_]]", "").replace("\r", "\n").split("\n")
    # So are labels ("Symptom:"), whose value is what is kept.
    lines = [label[1] if (label := label_of(line)) else line for line in lines]
    return "\n".join(line for line in lines if section_kind(line.lstrip("#")) is None)


@pytest.mark.parametrize(
    "path",
    [SEED_PATH, *sorted(SAMPLES_DIR.rglob("*.txt")), *sorted(PUBLIC_DIR.rglob("*.md"))],
    ids=lambda p: p.name,
)
def test_parse_runbook_loses_no_text(path):
    text = path.read_text()
    exported = render_runbook(parse_runbook(text, slug="a/b"))
    lost = _words(_authored_text(text)) - _words(exported)
    assert not lost, f"words in {path.name} missing from the export: {dict(lost)}"


# --------------------------------------------------------------------------- found by a
# fresh pair of eyes trying to break the reader


def test_parse_runbook_see_also_prose_is_kept_and_alert_names_are_not_links():
    rb = parse_runbook(
        "# Gitaly\n\n## See also\n\n- [Dashboard](https://dash.example.com/d/x) for the overview\n"
        "- Escalate to `@gitaly-team`\n\n## Connections\n\n- `GitalyCPUSaturation` fires too\n"
        "- cloud/kubernetes · [[net/dns]]\n"
    )
    assert [(s.title, s.body.split("\n")[0]) for s in rb.extra_sections] == [
        ("See also", "- [Dashboard](https://dash.example.com/d/x) for the overview")
    ]
    assert rb.section_intros["connections"] == (
        "- `GitalyCPUSaturation` fires too\n- cloud/kubernetes · [[net/dns]]"
    )
    assert sorted(c.target for c in rb.connections) == ["cloud/kubernetes", "net/dns"]


def test_parse_runbook_keeps_reference_definitions_right_after_headings():
    text = (
        "# Disk full\n[logs]: https://kibana.example.com/app/logs\n\n## Diagnosis\n"
        "[sop]: https://wiki.example.com/SOP-12\n\n1. Follow the [SOP][sop] and the [logs].\n"
    )
    exported = render_runbook(parse_runbook(text))
    assert "[sop]: https://wiki.example.com/SOP-12" in exported
    assert "[logs]: https://kibana.example.com/app/logs" in exported


def test_parse_runbook_plain_form_wrapped_lines_and_code_are_not_section_names():
    rb = parse_runbook(
        "Patroni failover\nThe failover always needs a manual\nrecovery.\n"
        "After that, the old primary is rebuilt.\nChecks\n- patronictl list\n"
        "Output looks like:\n\n    | Member | Role |\n    Links\n    Fix\n"
    )
    assert "recovery.\nAfter that" in rb.summary
    assert rb.fix_patterns == [] and rb.connections == []
    assert rb.checks[-1].detail == "    | Member | Role |\n    Links\n    Fix"


def test_parse_runbook_a_later_h1_is_one_more_section():
    text = (
        "# VMI stuck\n\n## Meaning\n\nStuck.\n\n## Diagnosis\n\n- Look at the pod\n\n"
        "## Mitigation\n\n- Delete it\n\n# Appendix\n\nMore.\n"
    )
    rb = parse_runbook(text)
    assert (rb.symptom, [c.title for c in rb.checks]) == ("Stuck.", ["Look at the pod"])
    assert [(s.title, s.body) for s in rb.extra_sections] == [("Appendix", "More.")]
    assert structure(parse_runbook(render_runbook(rb))) == structure(rb)


@pytest.mark.parametrize(
    "body",
    ["## Likely causes\n\n" + "- x\n" * 8000, "## Diagnosis\n\n" + "### x\n\ny\n\n" * 4000],
    ids=["repeated items", "repeated sub-headings"],
)
def test_parse_runbook_repeated_titles_stay_linear(body):
    import time

    started = time.perf_counter()
    rb = parse_runbook("# T\n\n" + body)
    assert time.perf_counter() - started < 2.0
    keys = [c.key for c in rb.causes or rb.checks]
    assert keys[:3] == ["x", "x-2", "x-3"] and len(set(keys)) == len(keys)


def test_parse_runbook_drill_path_extra_columns_and_pivot_link_text_are_kept():
    rb = parse_runbook(
        "# Latency\n\n## Drill Paths\n\n| Suspect | Go to | When |\n|---|---|---|\n"
        "| Slow DB | storage/lag | p99 > 200ms |\n\n## When This Is Not the Issue\n\n"
        "If latency is client-side:\n\nPivot to [client-side latency](../net/client.md) first.\n",
        slug="app/latency",
    )
    assert [(d.text, d.target) for d in rb.drill_paths] == [
        ("Slow DB — p99 > 200ms", "storage/lag")
    ]
    assert [(p.target, p.text) for p in rb.pivots] == [("net/client", "client-side latency first.")]


def test_parse_runbook_front_matter_title_without_an_h1():
    rb = parse_runbook("---\ntitle: Disk full\n---\n\n## Symptoms\n\nX\n\n## Diagnosis\n\n- a\n")
    assert (rb.title, rb.symptom, [c.title for c in rb.checks]) == ("Disk full", "X", ["a"])
    rb = parse_runbook('+++\ntitle = "Disk"\n+++\nIntro para.\n\n## Diagnosis\n\n- a\n')
    assert (rb.title, rb.summary, rb.front_matter) == ("Disk", "Intro para.", {})


def test_parse_runbook_folder_index_and_extensionless_links():
    rb = parse_runbook(
        "# DNS\n\n## Notes\n\nSee [storage](../storage/), [net](../network/index.md) and "
        "[wiki page](../net/Dns-Runbook), not [a diagram](../img/dns.png).\n",
        slug="ops/dns",
    )
    assert [c.target for c in rb.connections] == ["storage", "network", "net/dns-runbook"]
    assert slug_from_path("storage/index.md") == "storage"
    assert slug_from_path("storage/README.md") == "storage"


def test_parse_runbook_troubleshooting_workaround_resolution_verification_are_parts():
    rb = parse_runbook(
        "# Runner down\n\n## Troubleshooting\n\n- Check the runner\n\n## Workaround\n\n"
        "- Use the shared runners\n\n## Resolution\n\n- Restart it\n\n## Verification\n\n"
        "- Run a pipeline\n"
    )
    assert [c.title for c in rb.checks] == ["Check the runner", "Run a pipeline"]
    assert [f.text for f in rb.fix_patterns] == ["Use the shared runners", "Restart it"]


@pytest.mark.parametrize(
    ("title", "minutes"),
    [("At its CPU limit (500m)", None), ("Firing (5m)", None), ("Logs (~3m)", 3),
     ("Logs (5 min)", 5), ("Logs (~7 minutes)", 7)],
)  # fmt: skip
def test_parse_runbook_minutes_are_read_only_from_time_estimates(title, minutes):
    rb = parse_runbook(f"# T\n\n## Checks\n\n- {title}\n")
    assert rb.checks[0].minutes == minutes
    if minutes is None:
        assert rb.checks[0].title == title


def test_parse_runbook_reports_each_problem_once():
    rb = parse_runbook("# T\n\n## Connections\n\n- [up](../../../x.md)\n", slug="a/b")
    assert rb.warnings == ["line 5: link '../../../x.md' leads outside the collection"]


def test_parse_runbook_wiki_link_out_of_the_collection_is_reported():
    rb = parse_runbook("# T\n\n## Notes\n\nSee [[../escape]].\n", slug="a/b")
    assert rb.connections == []
    assert rb.warnings == ["line 5: wiki-link [[../escape]] leads outside the collection"]
