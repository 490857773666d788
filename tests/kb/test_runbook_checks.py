"""kb.runbook_checks: nothing reaches a column it cannot be stored in, and slug rules;
listing pages survive a bad value stored before the checks existed."""

import pytest
from django.db import connection

from kb.markdown_io import (
    ParsedCause,
    ParsedCheck,
    ParsedLink,
    ParsedRunbook,
    ParsedSection,
    parse_runbook,
)
from kb.models import Cause, Check, DrillPath, ExtraSection, Pattern, Runbook
from kb.parse_errors import RunbookParseError
from kb.runbook_checks import (
    FieldLimits,
    check_parsed_runbook,
    displayable,
    slug_from_relative_path,
    slug_from_text,
)
from kb.services import field_limits

TEXT = """# Disk full

## Likely Causes

- Logs not rotated — the app writes debug logs
- {cause}

## First Checks

- df -h — which mount
"""


def error_of(rb: ParsedRunbook, **kwargs) -> RunbookParseError:
    with pytest.raises(RunbookParseError) as caught:
        check_parsed_runbook(rb, **kwargs)
    return caught.value


def test_check_parsed_runbook_accepts_a_normal_runbook():
    text = TEXT.format(cause="Volume too small")
    assert check_parsed_runbook(parse_runbook(text), text=text, slug="storage/disk") is None


def test_check_parsed_runbook_names_the_line_of_a_cause_title_over_its_column():
    text = TEXT.format(cause="x" * 501)
    error = error_of(parse_runbook(text), text=text)
    assert error.line == 6
    assert error.message == "cause 2 title is 501 characters, over the 500 limit"


@pytest.mark.parametrize(
    ("rb", "line", "message"),
    [
        (ParsedRunbook(title="T", tags=["ok", "a\udfffb"]), 1, "tag 2 contains a lone surrogate"),
        (ParsedRunbook(title="T", summary="a\x00b"), 1, "summary contains a NUL character"),
        (ParsedRunbook(title="T\nU"), 1, "title must be a single line"),
        (ParsedRunbook(title="T", front_matter={"x": [{"y": "\x00"}]}), 1, "NUL character"),
        (ParsedRunbook(title="T", tags=["t" * 101]), 1, "tag 1 is 101 characters, over the 100"),
        (
            ParsedRunbook(title="T", checks=[ParsedCheck("k", "c" * 501, line=9)]),
            9,
            "check 1 title is 501 characters",
        ),
        (
            ParsedRunbook(title="T", checks=[ParsedCheck("k", "c", minutes=2**31, line=4)]),
            4,
            "check 1 minutes must be between 0 and",
        ),
        (
            ParsedRunbook(title="T", causes=[ParsedCause("k", "c", "d\udfff", line=7)]),
            7,
            "cause 1 detail contains a lone surrogate",
        ),
        (
            ParsedRunbook(title="T", connections=[ParsedLink("a" * 201, line=12)]),
            12,
            "link 1 target is 201 characters, over the 200 limit",
        ),
        (
            ParsedRunbook(title="T", drill_paths=[ParsedLink("a/b", "s" * 501, line=3)]),
            3,
            "drill path 1 suspect is 501 characters",
        ),
        (
            ParsedRunbook(title="T", extra_sections=[ParsedSection("h" * 301, "", line=20)]),
            20,
            "section 1 heading is 301 characters, over the 300 limit",
        ),
        (ParsedRunbook(title="T", open_questions=["ok", "a\x00"]), 1, "open question 2 contains"),
    ],
)
def test_check_parsed_runbook_names_the_item_and_its_line(rb, line, message):
    error = error_of(rb)
    assert (error.line, message in error.message) == (line, True), error


def test_check_parsed_runbook_finds_the_line_of_an_item_without_one():
    text = "---\ntags: [x]\n---\n# T\n\nSome intro.\n\n## Open Questions\n\n- why\x00\n"
    rb = ParsedRunbook(title="T", open_questions=["why\x00"])
    assert error_of(rb, text=text).line == 10


def test_check_parsed_runbook_checks_the_stored_slug_and_category():
    rb = ParsedRunbook(title="T")
    error = error_of(rb, slug="a" * 201, slug_line=2)
    assert (error.line, error.message) == (2, "slug is 201 characters, over the 200 limit")
    assert "category is 101 characters" in error_of(rb, category="c" * 101).message


def test_field_limits_come_from_the_model_columns():
    limits = field_limits()
    assert limits == FieldLimits()  # the pure defaults match the models today
    assert limits.title == Runbook._meta.get_field("title").max_length
    assert limits.cause_title == Cause._meta.get_field("title").max_length
    assert limits.check_title == Check._meta.get_field("title").max_length
    assert limits.pattern_observation == Pattern._meta.get_field("observation").max_length
    assert limits.drill_suspect == DrillPath._meta.get_field("suspect").max_length
    assert limits.section_title == ExtraSection._meta.get_field("title").max_length
    assert limits.slug == Runbook._meta.get_field("slug").max_length


@pytest.mark.parametrize(
    ("relative", "slug"),
    [
        ("Cloud/Blue Green.md", "cloud/blue-green"),
        ("障害.md", "zhanghai"),
        ("ops/Straße.md", "ops/strasse"),
        ("Café.txt", "cafe"),
        ("!!!.md", ""),
        ("a/../b.md", ""),
    ],
)
def test_slug_from_relative_path_transliterates_or_gives_nothing(relative, slug):
    assert slug_from_relative_path(relative) == slug


@pytest.mark.parametrize(
    ("value", "slug", "problem"),
    [
        (" /Cloud/Blue Green/ ", "cloud/blue-green", ""),
        ("障害/対応", "zhanghai/duiying", ""),
        ("../../x", "", "must not contain '.' or '..' segments"),
        ("a/./b", "", "must not contain '.' or '..' segments"),
        ("a//b", "", "has an empty segment"),
        ("a/!!!", "", "has an empty segment or one with no letters or digits"),
        ("a\nb", "", "must be a single line"),
        ("", "", "is empty"),
    ],
)
def test_slug_from_text_refuses_rather_than_drops(value, slug, problem):
    found, why = slug_from_text(value)
    assert found == slug and why.startswith(problem)


def test_displayable_replaces_only_what_cannot_be_shown():
    assert displayable("ok 障害 😀") == "ok 障害 😀"
    assert displayable("a\udfffb\x00c") == "a\ufffdbc"
    assert displayable(7) == "7"


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL cannot store a lone surrogate at all"
)
def test_listing_pages_survive_a_stored_lone_surrogate_and_unroutable_slug(engineer_client):
    # Only JSON columns can hold one on SQLite (json.dumps writes it as an \\u escape).
    Runbook.objects.create(slug="ok/fine", title="Fine runbook", category="ok", tags=["good"])
    Runbook.objects.create(slug="bad/tagged", title="Bad tag", category="bad", tags=["\udfff"])
    Runbook.objects.create(slug="//x", title="Old broken slug", category="zz")
    for url in ("/", "/runbooks/", "/runbooks/?tag=%EF%BF%BD"):
        response = engineer_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert '<span class="tag">\ufffd</span>' in html, url
    for url in ("/", "/runbooks/"):
        html = engineer_client.get(url).content.decode()
        assert 'href="/runbooks/ok/fine/">Fine runbook</a>' in html
        assert '<span class="runbook-title">Old broken slug</span>' in html
    partial = engineer_client.get(
        "/runbooks/?q=b", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runbook-index"
    )
    html = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in html
    assert "Bad tag" in html and "Old broken slug" in html
