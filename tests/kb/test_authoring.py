"""Authoring (issue 8): edit with preview, conflicts, new/upload, history, links, health."""

import io
import re
import uuid
import zipfile
from html import unescape
from pathlib import Path

import pytest
from django.test import override_settings

from kb.authoring import (
    EditConflict,
    links_from_form,
    runbook_edit_save,
    runbook_links_save,
    runbook_source_text,
    slug_is_addressable,
)
from kb.models import (
    Cause,
    CheckCause,
    FixCause,
    LinkStatus,
    PatternCause,
    Runbook,
    RunbookRevision,
)
from kb.services import runbook_import
from tests.conftest import PUBLIC_RUNBOOKS, SEED_SLUG

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
EDIT = f"/runbooks/{SEED_SLUG}/edit/"
PREVIEW = f"/runbooks/{SEED_SLUG}/edit/preview/"
HISTORY = f"/runbooks/{SEED_SLUG}/history/"
RESTORE = f"/runbooks/{SEED_SLUG}/history/restore/"
LINKS = f"/runbooks/{SEED_SLUG}/links/"
ENV_CAUSE = "missing-or-changed-environment-variable"
CONFIG_CAUSE = "config-change-not-applied-to-all-instances"
CODE_CAUSE = "code-bug-on-a-specific-path-introduced-in-this-diff"
FIRST_PATTERN = "errors-on-all-endpoints-immediately"
FIRST_CHECK = "check-error-logs-immediately"
# The test's folder is tests/kb; parents[3] is the folder holding the project and shared/.
PUBLIC = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "public-runbooks"


def htmx(target: str) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture
def editor(make_user):
    return make_user("edna", "editor")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def founding(seed_text) -> Runbook:
    return runbook_import(text=seed_text, path=f"{SEED_SLUG}.txt")


def textarea(html: str) -> str:
    match = re.search(r'<textarea id="id_markdown"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(match.group(1))


def edit(client, text: str, base: int, note: str = "", **extra):
    return client.post(EDIT, {"markdown": text, "base": base, "note": note}, **extra)


# --- the editor ---------------------------------------------------------------------------


def test_edit_page_opens_the_latest_revision_as_written(editor_client, founding, seed_text):
    response = editor_client.get(EDIT)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="preview"' in html
    assert textarea(html) == seed_text  # the seed's plain form, not a re-rendering
    assert 'name="base" value="1"' in html
    assert "Missing or changed environment variable" in html  # the preview, server-side


def test_source_text_falls_back_to_an_export_when_the_revision_is_not_the_source(founding):
    Runbook.objects.filter(pk=founding.pk).update(source_hash="changed-elsewhere")
    founding.refresh_from_db()
    assert runbook_source_text(founding).startswith("---\nslug: 000_131d5d6a3ce7968b\n")


def test_preview_partial_shows_the_parsed_structure_and_saves_nothing(
    editor_client, founding, seed_text
):
    text = seed_text.replace(
        "- Config change not applied to all instances\n",
        "- Certificate expired on the load balancer — TLS handshakes fail\n",
    )
    response = editor_client.post(PREVIEW, {"markdown": text, "base": 1}, **htmx("preview"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="preview"')
    assert "<html" not in html
    assert "Certificate expired on the load balancer" in html
    assert "will be retired" in html and "Config change not applied" in html
    assert 'class="badge badge-new"' in html  # the new cause
    assert "cloud/kubernetes" in html and "missing" in html  # drill path target not written
    assert Runbook.objects.get().revision == 1
    assert RunbookRevision.objects.count() == 1


HOSTILE = """---
tags: ["<script>alert('tag')</script>"]
---
# Debug: <script>alert('title')</script> {{ request.user }}

**Symptom:** <img src=x onerror="alert('symptom')"> [x](javascript:alert(1))

## Likely Causes

- <script>alert('cause')</script> — <a href="javascript:alert(1)">x</a> </textarea><b>out</b>

## Drill Paths

| Suspect | Go to |
|---|---|
| <img src=x onerror=alert(2)> | [[evil/target]] |
"""


@pytest.mark.parametrize("target", ["preview", None])
def test_preview_and_editor_render_hostile_text_inert(editor_client, target):
    headers = htmx(target) if target else {}
    response = editor_client.post("/runbooks/new/preview/", {"markdown": HOSTILE}, **headers)
    html = response.content.decode()
    assert "<script>alert" not in html
    assert not re.search(r"<[^>]*\sonerror\s*=", html)  # only ever as escaped text
    assert 'href="javascript:' not in html and "<b>out</b>" not in html
    assert "{{ request.user }}" in html  # shown as text, never evaluated
    if target is None:
        assert textarea(html) == HOSTILE  # the textarea cannot be closed from inside


def test_preview_names_the_line_of_a_parse_error(editor_client, founding):
    text = "---\ntags: [a\n---\n# Title\n"
    html = editor_client.post(PREVIEW, {"markdown": text, "base": 1}, **htmx("preview")).content
    html = html.decode()
    assert "Line 2: front matter is not valid YAML" in html
    assert "cannot be saved" in html


def test_preview_without_javascript_is_the_whole_edit_page(editor_client, founding, seed_text):
    text = seed_text.replace("app starts but crashes on first use", "crashes on first request")
    response = editor_client.post(PREVIEW, {"markdown": text, "base": 1, "note": "n1"})
    html = response.content.decode()
    assert "<html" in html and textarea(html) == text
    assert 'name="base" value="1"' in html and 'value="n1"' in html
    assert "crashes on first request" in html


def test_save_makes_a_revision_and_keeps_cause_identity(editor_client, editor, founding, seed_text):
    env = founding.causes.get(key=ENV_CAUSE)
    text = seed_text.replace("app starts but crashes on first use", "crashes on the first request")
    response = edit(editor_client, text.replace("\n", "\r\n"), base=1, note="INC-7 taught us")
    assert response.status_code == 302
    assert response["Location"] == f"/runbooks/{SEED_SLUG}/"
    founding.refresh_from_db()
    assert founding.revision == 2
    latest = founding.revisions.get(number=2)
    assert (latest.author, latest.note, latest.markdown) == (editor, "INC-7 taught us", text)
    after = founding.causes.get(key=ENV_CAUSE)
    assert after.pk == env.pk and after.detail == "crashes on the first request"
    page = editor_client.get(f"/runbooks/{SEED_SLUG}/").content.decode()
    assert "as revision 2" in page


def test_save_of_unchanged_text_makes_no_revision(editor_client, founding, seed_text):
    assert edit(editor_client, seed_text, base=1).status_code == 302
    assert founding.revisions.count() == 1


def test_save_refuses_unreadable_text_and_keeps_it(editor_client, founding):
    response = edit(editor_client, "\n\n- just a list\n", base=1)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Line 3: no title" in html and textarea(html) == "\n\n- just a list\n"
    assert founding.revisions.count() == 1


def test_a_refused_save_keeps_the_revision_the_editor_was_opened_at(
    editor_client, founding, seed_text, editor
):
    runbook_edit_save(runbook=founding, text=seed_text + "\n- Q?\n", base_revision=1, author=editor)
    response = edit(editor_client, "", base=1)  # empty: refused before any save
    html = response.content.decode()
    assert response.status_code == 400 and "Line 1: file is empty" in html
    assert 'name="base" value="1"' in html  # so the next save still detects the conflict
    assert edit(editor_client, seed_text + "\n- R?\n", base=1).status_code == 409


def test_save_refuses_a_slug_change_in_front_matter(founding, seed_text, editor):
    from kb.markdown_io import RunbookParseError

    with pytest.raises(RunbookParseError, match="cannot be renamed") as err:
        text = "---\nslug: other\n---\n" + seed_text
        runbook_edit_save(runbook=founding, text=text, base_revision=1, author=editor)
    assert err.value.line == 2


def test_conflicting_save_is_refused_with_both_diffs_and_nothing_lost(
    editor_client, make_user, founding, seed_text
):
    other = make_user("olaf", "editor")
    theirs = seed_text.replace("app starts but crashes on first use", "THEIR WORDS")
    runbook_edit_save(runbook=founding, text=theirs, base_revision=1, author=other, note="theirs")

    mine = seed_text.replace("Dependency version change with a breaking API", "MY NEW CAUSE")
    response = edit(editor_client, mine, base=1, note="mine")
    html = response.content.decode()
    assert response.status_code == 409
    assert "Not saved: revision 2 was saved since you opened revision 1" in html
    assert textarea(html) == mine  # nothing lost
    assert 'value="mine"' in html
    theirs_diff = html.split('class="diff-theirs"')[1].split('class="diff-yours"')[0]
    yours_diff = html.split('class="diff-yours"')[1]
    assert "THEIR WORDS" in theirs_diff and "MY NEW CAUSE" not in theirs_diff
    assert "MY NEW CAUSE" in yours_diff and "THEIR WORDS" not in yours_diff.split("</section>")[0]
    assert "olaf" in html
    founding.refresh_from_db()
    assert founding.revision == 2 and founding.revisions.get(number=2).markdown == theirs

    # The page now carries revision 2: saving again (after merging) goes through.
    assert 'name="base" value="2"' in html
    merged = mine.replace("app starts but crashes on first use", "THEIR WORDS")
    assert edit(editor_client, merged, base=2, note="merged").status_code == 302
    assert founding.revisions.count() == 3
    assert founding.revisions.get(number=3).markdown == merged


def test_edit_conflict_from_the_service(founding, seed_text, editor):
    runbook_edit_save(runbook=founding, text=seed_text + "\n- Q?\n", base_revision=1, author=editor)
    with pytest.raises(EditConflict) as err:
        text = seed_text + "\n- R?\n"
        runbook_edit_save(runbook=founding, text=text, base_revision=1, author=editor)
    assert (err.value.base, err.value.current.number) == (1, 2)
    assert err.value.yours().added == 1 and "R?" in err.value.yours().unified()
    # A stale base with the text already stored is not a conflict: nothing would be lost.
    same, status = runbook_edit_save(
        runbook=founding, text=seed_text + "\n- Q?\n", base_revision=1, author=editor
    )
    assert (same.revision, status) == (2, "unchanged")


def test_a_cause_cited_by_sessions_survives_an_edit_that_removes_it(
    editor_client, founding, seed_text, engineer
):
    from triage.learning import runbook_ranking
    from triage.models import Outcome
    from triage.services import OutcomeInput, StepInput, session_finish, session_start, step_record

    cause = founding.causes.get(key=CONFIG_CAUSE)
    env = founding.causes.get(key=ENV_CAUSE)
    check = founding.checks.get(key=FIRST_CHECK)
    session = session_start(runbook=founding, user=engineer, incident_ref="INC-1")
    step_record(
        session=session,
        user=engineer,
        token=uuid.uuid4(),
        answer=StepInput(kind="check", check_id=check.pk, cause_id=cause.pk, result="confirms"),
    )
    session_finish(
        session=session,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
    )
    second = session_start(runbook=founding, user=engineer)
    session_finish(
        session=second,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="resolved", cause_id=env.pk),
    )

    text = seed_text.replace("- Config change not applied to all instances\n", "")
    preview = editor_client.post(PREVIEW, {"markdown": text, "base": 1}, **htmx("preview"))
    assert "will be retired" in preview.content.decode()
    assert edit(editor_client, text, base=1, note="drop config cause").status_code == 302

    kept = Cause.objects.get(pk=cause.pk)
    assert kept.retired and kept.title == "Config change not applied to all instances"
    assert Outcome.objects.get(session=session).cause == kept
    assert [c.key for c in founding.active_causes()] == [
        ENV_CAUSE,
        "db-schema-migration-applied-but-old-code-still-running",
        CODE_CAUSE,
        "dependency-version-change-with-a-breaking-api",
    ]
    # The unchanged cause keeps its identity and what was learned about it.
    assert founding.causes.get(key=ENV_CAUSE).pk == env.pk
    learned = runbook_ranking(Runbook.objects.with_parts().get(pk=founding.pk))
    assert learned.overall.by_key[ENV_CAUSE].confirmations == 1
    page = editor_client.get(f"/runbooks/{SEED_SLUG}/").content.decode()
    assert "Config change not applied" not in page


# --- new runbooks and uploads -------------------------------------------------------------

NEW_TEXT = """---
tags: [deploy, http]
---
# Debug: Slow Checkout

**Symptom:** checkout p99 above 2 s.

## Likely Causes

- Payment provider slow — their status page
"""


def test_new_runbook_page_and_its_preview_partial(editor_client):
    html = editor_client.get("/runbooks/new/?slug=storage/disk-full").content.decode()
    assert "<html" in html and 'value="storage/disk-full"' in html
    response = editor_client.post(
        "/runbooks/new/preview/", {"slug": "shop/checkout", "markdown": NEW_TEXT}, **htmx("preview")
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="preview"') and "<html" not in html
    assert "shop/checkout" in html and "Payment provider slow" in html and "deploy" in html
    assert not Runbook.objects.exists()


def test_new_runbook_from_pasted_markdown(editor_client, editor):
    response = editor_client.post(
        "/runbooks/new/", {"slug": "Shop/Checkout", "markdown": NEW_TEXT, "note": "first"}
    )
    assert response.status_code == 302 and response["Location"] == "/runbooks/shop/checkout/"
    runbook = Runbook.objects.get(slug="shop/checkout")
    assert (runbook.category, runbook.tags) == ("shop", ["deploy", "http"])
    revision = runbook.revisions.get()
    assert (revision.author, revision.note, revision.markdown) == (editor, "first", NEW_TEXT)


@pytest.mark.parametrize(
    ("slug", "text", "error"),
    [
        ("", NEW_TEXT, "new runbook:1: give the runbook a slug"),
        ("new", NEW_TEXT, "new.md:1: slug &#x27;new&#x27; is taken by another page"),
        ("shop/history", NEW_TEXT, "is taken by another page"),
        ("shop/x", "\n\n- just a list\n", "shop/x.md:3: no title"),
        ("shop/x", "", "Paste the runbook"),
    ],
)
def test_new_runbook_errors_name_file_and_line_and_write_nothing(editor_client, slug, text, error):
    response = editor_client.post("/runbooks/new/", {"slug": slug, "markdown": text})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Runbook.objects.exists()


def test_new_runbook_refuses_an_existing_slug(editor_client, founding, seed_text):
    response = editor_client.post(
        "/runbooks/new/", {"slug": SEED_SLUG, "markdown": seed_text + "x"}
    )
    assert response.status_code == 400
    assert "already exists; edit it instead" in response.content.decode()
    assert founding.revisions.count() == 1


def test_slugs_taken_by_pages_are_not_addressable():
    assert slug_is_addressable("cloud/kubernetes")
    for slug in ("new", "health", "graph", "x/edit", "x/history", "x/links", "x/edit/preview"):
        assert not slug_is_addressable(slug), slug


def zip_folder(folder: Path, replace: dict[str, bytes] | None = None) -> io.BytesIO:
    """A zip of a folder's files, paths relative to it (as ``cd folder && zip -r``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            archive.writestr(name, (replace or {}).get(name, path.read_bytes()))
    buffer.seek(0)
    buffer.name = "public-runbooks.zip"
    return buffer


def test_upload_of_a_zip_of_the_public_runbooks_imports_them_all(editor_client, editor):
    assert PUBLIC_RUNBOOKS.resolve() == PUBLIC
    files = sorted(PUBLIC.rglob("*.md"))
    response = editor_client.post("/runbooks/new/upload/", {"files": zip_folder(PUBLIC)})
    assert response.status_code == 302 and response["Location"] == "/runbooks/"
    assert Runbook.objects.count() == len(files) == 15
    rb = Runbook.objects.get(slug="prometheus-operator/kubernetes/kubepodcrashlooping")
    assert rb.title == "Kube Pod Crash Looping"
    assert rb.revisions.get().author == editor
    # Relative .md links between the files resolve, as with the command.
    ceph = Runbook.objects.get(
        slug="openshift/openshift-container-storage-operator/cephclustererrorstate"
    )
    links = {c.target_slug: c.exists for c in ceph.connections.all()}
    assert links["openshift/openshift-container-storage-operator/helpers/diagnosis"] is True
    index = editor_client.get("/runbooks/").content.decode()
    assert "Imported 15 runbook files: 15 new, 0 updated, 0 unchanged." in index
    # Links the collection makes to runbooks it does not ship are named with file:line.
    assert index.count("Warning: public-runbooks.zip/") == 7
    assert (
        "Warning: public-runbooks.zip/prometheus-operator/node/NodeFilesystemAlmostOutOfSpace.md"
        ":27: link to &#x27;prometheus-operator/node/nodefilesystemfilesfillingup&#x27;: "
        "no such runbook (yet)"
    ) in index


def test_upload_of_a_zip_with_one_bad_file_imports_nothing_and_names_file_and_line(editor_client):
    bad = "prometheus-operator/general/TargetDown.md"
    assert (PUBLIC / bad).is_file()
    archive = zip_folder(PUBLIC, replace={bad: b"\n\n- just a list, no title\n"})
    response = editor_client.post("/runbooks/new/upload/", {"files": archive})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported." in html
    assert f"public-runbooks.zip/{bad}:3: no title" in html
    assert not Runbook.objects.exists() and not Cause.objects.exists()


def test_upload_of_markdown_files_with_a_folder_and_of_nothing(editor_client):
    one = io.BytesIO(NEW_TEXT.encode())
    one.name = "Slow Checkout.md"
    response = editor_client.post("/runbooks/new/upload/", {"files": one, "prefix": "shop"})
    assert response["Location"] == "/runbooks/shop/slow-checkout/"
    assert Runbook.objects.get().revisions.get().note == "Uploaded Slow Checkout.md"
    empty = editor_client.post("/runbooks/new/upload/", {"prefix": "x"})
    assert empty.status_code == 400 and "Choose one or more files." in empty.content.decode()


def test_upload_of_a_zip_with_an_unsafe_path_imports_nothing(editor_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.md", NEW_TEXT)
        archive.writestr("../../etc/evil.md", NEW_TEXT)
    buffer.seek(0)
    buffer.name = "evil.zip"
    html = editor_client.post("/runbooks/new/upload/", {"files": buffer}).content.decode()
    assert "evil.zip/../../etc/evil.md:1: unsafe path" in html
    assert not Runbook.objects.exists()


# --- history ------------------------------------------------------------------------------


@pytest.fixture
def three_revisions(founding, seed_text, editor):
    for base, word in ((1, "FIRST"), (2, "THIRD")):
        text = seed_text.replace("first use", word)
        note = {1: "second", 2: "third"}[base]
        runbook_edit_save(runbook=founding, text=text, base_revision=base, author=editor, note=note)
    return founding


def test_history_lists_revisions_with_the_latest_diff(editor_client, three_revisions):
    response = editor_client.get(HISTORY)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert (
        html.index('id="revision-3"')
        < html.index('id="revision-2"')
        < html.index('id="revision-1"')
    )
    assert "edna" in html and "second" in html and "third" in html
    assert "Revision 2 → 3" in html
    assert 'class="diff-del"' in html and "FIRST" in html and "THIRD" in html


def test_history_diff_between_any_two_as_htmx_partial(editor_client, three_revisions):
    response = editor_client.get(HISTORY, {"from": 1, "to": 3}, **htmx("revision-diff"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="revision-diff"') and "<html" not in html
    assert "Revision 1 → 3" in html and "THIRD" in html and "FIRST" not in html
    same = editor_client.get(HISTORY, {"from": 2, "to": 2}, **htmx("revision-diff"))
    assert "No differences." in same.content.decode()


def test_restore_makes_the_old_text_a_new_revision(editor_client, three_revisions, seed_text):
    response = editor_client.post(RESTORE, {"number": 1, "base": 3})
    assert response.status_code == 302 and response["Location"] == HISTORY
    runbook = Runbook.objects.get()
    assert runbook.revision == 4
    latest = runbook.revisions.get(number=4)
    assert latest.markdown == seed_text and latest.note == "Restored revision 1"
    assert runbook.causes.get(key=ENV_CAUSE).detail == "app starts but crashes on first use"
    assert "Restored revision 1 as revision 4" in editor_client.get(HISTORY).content.decode()


def test_restore_over_a_newer_revision_is_refused(editor_client, three_revisions):
    response = editor_client.post(RESTORE, {"number": 1, "base": 2})
    assert response.status_code == 409
    assert "Not restored: revision 3 was saved since you looked." in response.content.decode()
    assert editor_client.post(RESTORE, {"number": 9, "base": 3}).status_code == 404
    assert Runbook.objects.get().revision == 3


# --- cause links --------------------------------------------------------------------------


def test_link_editor_marks_proposals(editor_client, founding):
    html = editor_client.get(LINKS).content.decode()
    assert "<html" in html
    row = html.split(f'id="links-patterns-{FIRST_PATTERN}"')[1].split("</fieldset>")[0]
    assert f'value="patterns:{FIRST_PATTERN}:{ENV_CAUSE}" checked' in row
    assert "badge-proposed" in row and "Confirm these links" in row
    assert f'name="shown" value="patterns:{FIRST_PATTERN}|{ENV_CAUSE}"' in row


def test_links_from_form_decides_confirmed_and_changed_items_only():
    decided = links_from_form(
        shown=["patterns:p1|a", "patterns:p2|a", "checks:c1|", "fixes:f1|b", "bogus:x|"],
        linked=["patterns:p1:a", "patterns:p2:a", "checks:c1:b", "fixes:f1:b"],
        confirmed=["patterns:p2"],
    )
    assert decided == {"patterns": {"p2": {"a"}}, "checks": {"c1": {"b"}}}
    unlinked = links_from_form(shown=["fixes:f1|a,b"], linked=["fixes:f1:b"], confirmed=[])
    assert unlinked == {"fixes": {"f1": {"b"}}}


def save_links(client, base: int, *linked: str, confirm=(), shown=None):
    rb = Runbook.objects.with_parts().get(slug=SEED_SLUG)
    from kb.edit_selectors import link_editor

    _rb, _causes, sections = link_editor(rb)
    rows = [row for section in sections for row in section.rows]
    current = [
        f"{row.ident}:{cell.cause.key}" for row in rows for cell in row.cells if cell.checked
    ]
    return client.post(
        LINKS,
        {
            "base": base,
            "shown": shown if shown is not None else [row.shown for row in rows],
            "link": current + list(linked),
            "confirm": list(confirm),
        },
    )


def test_links_confirmed_in_the_editor_are_stored_and_written_into_the_text(
    editor_client, founding, seed_text
):
    linked = [f"patterns:{FIRST_PATTERN}:{CODE_CAUSE}", f"checks:{FIRST_CHECK}:{ENV_CAUSE}"]
    response = save_links(editor_client, 1, *linked)
    assert response.status_code == 302 and response["Location"] == LINKS
    founding.refresh_from_db()
    assert founding.revision == 2 and founding.revisions.get(number=2).note == "Edited cause links"
    pattern_links = PatternCause.objects.filter(pattern__key=FIRST_PATTERN)
    assert sorted(pattern_links.values_list("cause__key", "status")) == [
        (CODE_CAUSE, LinkStatus.CONFIRMED),
        (ENV_CAUSE, LinkStatus.CONFIRMED),
    ]
    check_links = CheckCause.objects.filter(check_item__key=FIRST_CHECK)
    assert set(check_links.values_list("status", flat=True)) == {LinkStatus.CONFIRMED}
    # Items nobody touched keep the importer's proposals.
    other = PatternCause.objects.get(pattern__key="errors-on-specific-endpoints-only")
    assert other.status == LinkStatus.PROPOSED
    text = runbook_source_text(founding)
    assert text.startswith(
        "---\ncause_links:\n  patterns:\n    errors-on-all-endpoints-immediately:"
    )
    assert text.endswith("\n---\n\n" + seed_text)  # the rest of the text is untouched
    html = editor_client.get(LINKS).content.decode()
    row = html.split(f'id="links-patterns-{FIRST_PATTERN}"')[1].split("</fieldset>")[0]
    assert "confirmed" in row and "badge-proposed" not in row


def test_confirmed_links_survive_a_later_text_edit(editor_client, founding, seed_text, editor):
    roll_back = founding.fix_patterns.get(position=1).key
    save_links(editor_client, 1, f"fixes:{roll_back}:{CONFIG_CAUSE}")
    save_links(editor_client, 2, confirm=[f"patterns:{FIRST_PATTERN}"])
    assert Runbook.objects.get().revision == 3

    # An edit in the browser: the text it opens carries the links.
    text = editor_client.get(EDIT).content.decode()
    text = textarea(text).replace("app starts but crashes on first use", "crashes on first use")
    assert "cause_links:" in text
    assert edit(editor_client, text, base=3).status_code == 302
    # A re-import of the original file (no front matter at all): confirmed rows are kept.
    runbook_import(text=seed_text + "\n- Another question?\n", path=f"{SEED_SLUG}.txt")

    founding.refresh_from_db()
    assert founding.revision == 5
    fix = FixCause.objects.filter(fix__key=roll_back)
    assert (CONFIG_CAUSE, LinkStatus.CONFIRMED) in fix.values_list("cause__key", "status")
    assert set(fix.values_list("status", flat=True)) == {LinkStatus.CONFIRMED}
    pattern = PatternCause.objects.get(pattern__key=FIRST_PATTERN)
    assert (pattern.cause.key, pattern.status) == (ENV_CAUSE, LinkStatus.CONFIRMED)


def test_unlinking_a_proposal_confirms_the_item_without_it(editor_client, founding):
    shown = [f"patterns:{FIRST_PATTERN}|{ENV_CAUSE}"]
    response = editor_client.post(LINKS, {"base": 1, "shown": shown, "link": []})
    assert response.status_code == 302
    assert not PatternCause.objects.filter(pattern__key=FIRST_PATTERN).exists()
    # "Confirmed: no causes" lives in the text, so the proposal does not come back.
    assert f"{FIRST_PATTERN}: []" in runbook_source_text(Runbook.objects.get())
    html = editor_client.get(LINKS).content.decode()
    row = html.split(f'id="links-patterns-{FIRST_PATTERN}"')[1].split("</fieldset>")[0]
    assert "badge-good" in row and " checked" not in row


def test_link_save_over_a_newer_revision_is_refused(editor_client, founding, seed_text, editor):
    runbook_edit_save(runbook=founding, text=seed_text + "\n- Q?\n", base_revision=1, author=editor)
    response = save_links(editor_client, 1, f"patterns:{FIRST_PATTERN}:{CODE_CAUSE}")
    assert response.status_code == 409
    assert "Not saved: revision 2 was saved" in response.content.decode()
    assert not PatternCause.objects.filter(status=LinkStatus.CONFIRMED).exists()


def test_runbook_links_save_ignores_unknown_keys(founding, editor):
    decided = {"patterns": {FIRST_PATTERN: {CODE_CAUSE, "no-such-cause"}, "no-such": {"x"}}}
    runbook_links_save(runbook=founding, decided=decided, base_revision=1, author=editor)
    text = runbook_source_text(founding)
    assert "no-such" not in text
    assert PatternCause.objects.get(pattern__key=FIRST_PATTERN).cause.key == CODE_CAUSE


# --- link health --------------------------------------------------------------------------


def runbook_session_counts() -> dict[int, int]:
    """The body proposed for triage.selectors.runbook_session_counts (kb cannot import it)."""
    from django.db.models import Count

    from triage.models import TriageSession

    return dict(TriageSession.objects.order_by().values_list("runbook").annotate(n=Count("id")))


def test_link_health_lists_missing_orphans_and_unmapped_alerts(editor_client, samples):
    html = editor_client.get("/runbooks/health/").content.decode()
    assert "<h1>Link health</h1>" in html
    missing = html.split('id="missing-h"')[1].split('id="orphans-h"')[0]
    # networking/load-balancer-health-checks is linked from blue-green but not written.
    row = missing.split('<span class="missing-link">networking/load-balancer-health-checks')[1]
    row = row.split("</tr>")[0]
    assert "Split Behaviour During a Blue-Green" in row
    assert "/runbooks/new/?slug=networking/load-balancer-health-checks" in row
    orphans = html.split('id="orphans-h"')[1].split('id="unused-h"')[0]
    assert "observability/alert-noise" in orphans  # the one sample nothing links to
    assert "cloud/kubernetes" not in orphans and SEED_SLUG not in orphans
    assert 'href="/alerts/unmapped/"' in html


@override_settings(FIELDGUIDE_RUNBOOK_USAGE="tests.kb.test_authoring.runbook_session_counts")
def test_link_health_lists_runbooks_never_used_in_a_triage(editor_client, samples, engineer):
    from triage.services import session_start

    kubernetes = Runbook.objects.get(slug="cloud/kubernetes")
    for _ in range(2):
        session_start(runbook=kubernetes, user=engineer)
    assert runbook_session_counts() == {kubernetes.pk: 2}
    html = editor_client.get("/runbooks/health/").content.decode()
    unused = html.split('id="unused-h"')[1]
    assert SEED_SLUG in unused and "cloud/kubernetes" not in unused


@override_settings(FIELDGUIDE_RUNBOOK_USAGE="tests.kb.test_authoring.no_such_function")
def test_link_health_says_when_usage_is_unknown(editor_client, founding):
    html = editor_client.get("/runbooks/health/").content.decode()
    assert "Triage usage is not available" in html


def test_link_health_counts_links_and_sources(founding):
    from kb.health import missing_targets

    runbook_import(text="# Other\n\n## Connections\n\n[[cloud/kubernetes]]\n", path="x/other.md")
    missing = {m.slug: m for m in missing_targets()}
    kubernetes = missing["cloud/kubernetes"]
    assert kubernetes.links == 3  # the seed's drill path and connection, and x/other
    assert [(s.slug, s.kinds) for s in kubernetes.sources] == [
        (SEED_SLUG, ("drill path", "connection")),
        ("x/other", ("connection",)),
    ]
    assert next(iter(missing)) == "cloud/kubernetes"  # most-linked first


# --- index filters ------------------------------------------------------------------------


@pytest.fixture
def tagged(db):
    runbook_import(text="---\ntags: [deploy, http]\n---\n# Checkout slow\n", path="shop/a.md")
    runbook_import(text="---\ntags: [Deploy]\n---\n# Pods\n", path="cloud/b.md")
    runbook_import(text="---\ntags: [db]\n---\n# Lag\n", path="shop/c.md")


def test_index_filters_by_tag_and_category(engineer_client, tagged):
    html = engineer_client.get("/runbooks/?tag=deploy").content.decode()
    assert "<html" in html and "Checkout slow" in html and "Pods" in html and "Lag" not in html
    assert '<option value="db">db</option>' in html and 'value="shop" selected' not in html
    html = engineer_client.get("/runbooks/?tag=deploy&category=shop").content.decode()
    assert "Checkout slow" in html and "Pods" not in html and 'value="shop" selected' in html


def test_index_filter_partial_keeps_tag_and_category_with_the_text_filter(engineer_client, tagged):
    response = engineer_client.get(
        "/runbooks/", {"q": "o", "tag": "deploy", "category": "cloud"}, **htmx("runbook-index")
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="runbook-index">') and "<html" not in html
    assert "Pods" in html and "Checkout slow" not in html
    none = engineer_client.get("/runbooks/", {"tag": "nope"}, **htmx("runbook-index"))
    assert "No runbook matches tagged “nope”." in none.content.decode()


def test_tags_and_category_are_edited_in_the_text(editor_client, founding, seed_text):
    text = "---\ntags: [deploy]\ncategory: releases\n---\n" + seed_text
    assert edit(editor_client, text, base=1).status_code == 302
    founding.refresh_from_db()
    assert (founding.tags, founding.category) == (["deploy"], "releases")
    index = editor_client.get("/runbooks/?category=releases").content.decode()
    assert "Debug: High Error Rate" in index


# --- who may edit -------------------------------------------------------------------------

EDITING_GETS = [
    EDIT,
    HISTORY,
    f"{HISTORY}?from=1&to=1",
    LINKS,
    "/runbooks/new/",
    "/runbooks/health/",
]
EDITING_POSTS = [
    EDIT,
    PREVIEW,
    RESTORE,
    LINKS,
    "/runbooks/new/",
    "/runbooks/new/preview/",
    "/runbooks/new/upload/",
]


def test_engineers_get_403_on_every_editing_url(engineer_client, founding, seed_text):
    for url in EDITING_GETS:
        assert engineer_client.get(url).status_code == 403, url
    body = {"markdown": seed_text + "x", "base": 1, "number": 1, "slug": "a/b", "note": "n"}
    for url in EDITING_POSTS:
        assert engineer_client.post(url, body).status_code == 403, url
        assert engineer_client.post(url, body, **htmx("preview")).status_code == 403, url
    founding.refresh_from_db()
    assert founding.revision == 1 and Runbook.objects.count() == 1


def test_anonymous_users_are_sent_to_log_in(client, founding):
    for url in EDITING_GETS:
        assert client.get(url)["Location"].startswith("/accounts/login/"), url


def test_editors_reach_every_editing_page_and_see_the_links(editor_client, founding):
    for url in EDITING_GETS:
        assert editor_client.get(url).status_code == 200, url
    page = editor_client.get(f"/runbooks/{SEED_SLUG}/").content.decode()
    assert f'href="{EDIT}"' in page and f'href="{HISTORY}"' in page and f'href="{LINKS}"' in page
    assert 'href="/runbooks/new/"' in page and 'href="/runbooks/health/"' in page


def test_engineers_do_not_see_editing_links(engineer_client, founding):
    page = engineer_client.get(f"/runbooks/{SEED_SLUG}/").content.decode()
    assert EDIT not in page and "/runbooks/new/" not in page and "/runbooks/health/" not in page


def test_editing_pages_of_a_missing_runbook_are_404(editor_client, db):
    for page in ("edit", "history", "links"):
        url = f"/runbooks/no/such/{page}/"
        assert editor_client.get(url).status_code == 404, url


# --- hostile front matter and replacing uploads ----------------------------------------------


def md_file(name: str, text: str) -> io.BytesIO:
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


def upload(client, *files, **fields):
    return client.post("/runbooks/new/upload/", {"files": list(files), **fields})


def test_upload_into_a_folder_prefixes_front_matter_slugs_too(editor_client):
    text = "---\nslug: payments/slow\n---\n" + NEW_TEXT.split("---\n", 2)[2]
    response = upload(editor_client, md_file("障害.md", text), prefix="shop")
    assert response["Location"] == "/runbooks/shop/payments/slow/"
    assert list(Runbook.objects.values_list("slug", flat=True)) == ["shop/payments/slow"]


def test_upload_that_would_replace_runbooks_lists_them_and_writes_nothing_until_confirmed(
    editor_client,
):
    for slug in ("a", "b"):
        runbook_import(text=f"# Old {slug}\n", path=f"shop/{slug}.md")

    def files() -> list[io.BytesIO]:  # an upload's files are read once, so new ones each time
        return [md_file(f"{s}.md", f"# New {s}\n") for s in ("a", "b", "c")]

    response = upload(editor_client, *files(), prefix="shop", note="quarterly")
    html = unescape(response.content.decode())
    assert response.status_code == 409
    assert (
        "Nothing was imported yet: 2 runbooks already exist and would get a new revision: "
        "shop/a, shop/b." in html
    )
    assert "tick “Replace existing runbooks”, choose the files again" in html
    assert 'spellcheck="false" value="shop"' in html  # the folder is kept
    assert 'value="quarterly"' in html and 'name="replace" value="on">' in html  # not ticked
    assert sorted(Runbook.objects.values_list("slug", "title")) == [
        ("shop/a", "Old a"),
        ("shop/b", "Old b"),
    ]

    confirmed = upload(editor_client, *files(), prefix="shop", replace="on")
    assert confirmed.status_code == 302 and confirmed["Location"] == "/runbooks/"
    assert sorted(Runbook.objects.values_list("slug", "title", "revision")) == [
        ("shop/a", "New a", 2),
        ("shop/b", "New b", 2),
        ("shop/c", "New c", 1),
    ]


def test_upload_of_unchanged_runbooks_needs_no_confirmation(editor_client):
    runbook_import(text="# Same\n", path="same.md")
    response = upload(editor_client, md_file("same.md", "# Same\n"))
    assert response.status_code == 302
    assert "1 unchanged" in editor_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"prefix": "../x"}, "Folder: the folder must not contain '.' or '..' segments"),
        ({"prefix": "a//b"}, "Folder: the folder has an empty segment"),
    ],
)
def test_upload_refuses_a_folder_that_is_not_one(editor_client, fields, error):
    response = upload(editor_client, md_file("x.md", "# X\n"), **fields)
    assert response.status_code == 400
    assert error in unescape(response.content.decode())
    assert not Runbook.objects.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("---\nslug: ../../x\n---\n# X\n", "x.md:2: front matter slug '../../x' must not contain"),
        ("---\ntitle: X\nslug: new\n---\n# X\n", "x.md:3: front matter slug 'new' is taken"),
        ("---\nslug: a/edit\n---\n# X\n", "x.md:2: front matter slug 'a/edit' is taken"),
        ('---\ntags: ["\\udfff"]\n---\n# X\n', "x.md:2: front matter"),
        ("---\nslug: " + "s" * 201 + "\n---\n# X\n", "x.md:2: slug is 201 characters"),
    ],
)
def test_upload_names_file_and_line_of_front_matter_no_page_can_have(editor_client, text, error):
    response = upload(editor_client, md_file("x.md", text), prefix="")
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert "Nothing was imported." in html and error in html
    assert not Runbook.objects.exists()


@pytest.mark.parametrize(
    ("front", "line", "error"),
    [
        ("slug: ../../x", 2, "front matter slug '../../x' must not contain '.' or '..' segments"),
        ('title: "a\\0b"', 2, "front matter value of 'title' contains a NUL character"),
        ("x: 1\nstatus: &s ok\ny: *s", 3, "front matter uses the YAML anchor &s"),
    ],
)
def test_editor_names_the_line_of_front_matter_that_cannot_be_saved(
    editor_client, founding, seed_text, front, line, error
):
    text = f"---\n{front}\n---\n{seed_text}"
    expected = f"Line {line}: {error}"
    partial = editor_client.post(PREVIEW, {"markdown": text, "base": 1}, **htmx("preview"))
    assert expected in unescape(partial.content.decode())
    page = editor_client.post(PREVIEW, {"markdown": text, "base": 1})
    assert "<html" in page.content.decode() and expected in unescape(page.content.decode())
    saved = edit(editor_client, text, 1)
    assert saved.status_code == 400 and expected in unescape(saved.content.decode())
    assert founding.revisions.count() == 1


def test_editor_refuses_a_cause_title_over_its_column(editor_client, founding, seed_text):
    text = seed_text + "\n## Causes\n\n- " + "c" * 501 + "\n"
    line = text.count("\n")  # the last line, the cause's
    saved = edit(editor_client, text, 1)
    html = unescape(saved.content.decode())
    assert saved.status_code == 400
    assert f"Line {line}: cause" in html and "is 501 characters, over the 500 limit" in html
    assert founding.revisions.count() == 1


def test_new_runbook_refuses_a_front_matter_slug_taken_by_a_page(editor_client):
    text = "---\nslug: health\n---\n" + NEW_TEXT.split("---\n", 2)[2]
    response = editor_client.post("/runbooks/new/", {"slug": "", "markdown": text})
    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert "new runbook:2: front matter slug 'health' is taken by another page" in html
    assert not Runbook.objects.exists()


def test_edit_save_resolves_short_wiki_links_to_stored_runbooks(founding, editor, seed_text):
    from kb.services import runbook_import

    runbook_import(text="# DNS\n\nText.\n", path="networking/dns-resolution.md")
    text = seed_text + "\nNotes\n- See [[dns-resolution]] first\n"
    saved, _status = runbook_edit_save(runbook=founding, text=text, base_revision=1, author=editor)
    targets = {c.target_slug: c.exists for c in saved.connections.all()}
    assert targets["networking/dns-resolution"] is True
    assert "dns-resolution" not in targets
