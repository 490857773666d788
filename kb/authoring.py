"""Writes behind the editor pages (issue 8): edits, restores, new runbooks, uploads, links.

Markdown stays the source of truth: every write here produces a runbook text and saves it
through the importer's ``runbook_save_parsed`` as a new revision, so identity by key,
retiring removed parts and keeping confirmed links behave exactly as on the command line,
and the latest revision's text alone rebuilds the runbook.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from kb.diffing import LineDiff, line_diff
from kb.exporting import runbook_to_markdown
from kb.front_matter import read_front_matter, set_front_matter_key
from kb.markdown_io import (
    ParsedRunbook,
    RunbookParseError,
    decode_runbook_bytes,
    parse_runbook,
)
from kb.models import LinkStatus, Runbook, RunbookRevision
from kb.runbook_checks import slug_from_text
from kb.services import (
    ImportReport,
    RunbookImportFailed,
    check_for_storage,
    normalise_text,
    runbook_save_parsed,
    runbooks_import,
    text_hash,
)
from kb.sources import FileError, SourceFile, front_matter_slug, slug_is_addressable
from kb.uploads import Upload, upload_prefix, uploads_to_sources

LINK_GROUPS = ("patterns", "checks", "fixes")
EDIT_NOTE = "Edited in the browser"
LINKS_NOTE = "Edited cause links"


class EditConflict(Exception):
    """Someone saved a newer revision since the editor was opened at ``base``."""

    def __init__(self, *, runbook: Runbook, base: int, current: RunbookRevision, mine: str):
        super().__init__(f"{runbook.slug} is at revision {current.number}, not {base}")
        self.runbook = runbook
        self.base = base
        self.current = current
        self.mine = mine

    @property
    def base_text(self) -> str:
        revision = self.runbook.revisions.filter(number=self.base).first()
        return revision.markdown if revision else ""

    def theirs(self) -> LineDiff:
        """What was saved since: base → current."""
        return line_diff(self.base_text, self.current.markdown)

    def yours(self) -> LineDiff:
        """What you changed: base → your text."""
        return line_diff(self.base_text, self.mine)


# --------------------------------------------------------------------------- reading


def runbook_source_text(runbook: Runbook) -> str:
    """The text the editor opens: the latest revision as written, while it is the source.

    A runbook whose latest revision is not its source (changed some other way) is written
    out from its stored parts instead.
    """
    latest = runbook.revisions.order_by("-number").first()
    if latest is not None and latest.source_hash == runbook.source_hash:
        return latest.markdown
    return runbook_to_markdown(Runbook.objects.with_parts().get(pk=runbook.pk))


def parse_for_runbook(text: str, runbook: Runbook) -> ParsedRunbook:
    """Parse an edit of ``runbook`` and check it as the importer does (kb.services
    ``check_for_storage``); its slug cannot be changed from the text.

    Raises RunbookParseError (message, 1-based line) on text that cannot be saved.
    """
    # The importer's size, NUL and empty checks; surrogatepass so that a lone surrogate is
    # reported as undecodable text with its line rather than failing here.
    text = normalise_text(decode_runbook_bytes(text.encode("utf-8", "surrogatepass")))
    found = front_matter_slug(read_front_matter(text.split("\n")))
    if found is not None and found[0] != runbook.slug:
        raise RunbookParseError(
            f"front matter slug {found[0]!r} is not this runbook's slug {runbook.slug!r}; "
            "a runbook cannot be renamed by editing its text",
            found[1],
        )
    parsed = parse_runbook(text, slug=runbook.slug)
    check_for_storage(parsed, text=text, slug=runbook.slug)
    return parsed


def parse_for_new_runbook(text: str, slug: str = "") -> ParsedRunbook:
    """Parse the text of a new runbook for its preview, checked as the importer checks it;
    ``slug`` is the one typed in the form. Raises RunbookParseError (message, line)."""
    text = normalise_text(decode_runbook_bytes(text.encode("utf-8", "surrogatepass")))
    found = front_matter_slug(read_front_matter(text.split("\n")))
    chosen, line = found or (_typed_slug(slug), 1)
    if chosen and not slug_is_addressable(chosen):
        raise RunbookParseError(
            f"slug {chosen!r} is taken by another page (/runbooks/{chosen}/); choose another", line
        )
    parsed = parse_runbook(text, slug=chosen)
    check_for_storage(parsed, text=text, slug=chosen, slug_line=line)
    return parsed


def _typed_slug(slug: str) -> str:
    """A slug typed in a form, normalised; "" when it is empty or cannot be a slug."""
    chosen, _problem = slug_from_text(slug) if slug.strip() else ("", "")
    return chosen


# --------------------------------------------------------------------------- edits


@transaction.atomic
def runbook_edit_save(
    *,
    runbook: Runbook,
    text: str,
    base_revision: int,
    author: AbstractBaseUser | None,
    note: str = "",
) -> tuple[Runbook, str]:
    """Save edited text as a new revision. Returns (runbook, "updated" | "unchanged").

    Raises EditConflict when the runbook is no longer at ``base_revision`` (unless the text
    is already what is stored), RunbookParseError (with a line) on text that cannot be read.
    """
    text = normalise_text(text)
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if locked.revision != base_revision:
        if text_hash(text) == locked.source_hash:
            return locked, "unchanged"
        current = locked.revisions.filter(number=locked.revision).first() or RunbookRevision(
            runbook=locked, number=locked.revision, markdown=runbook_source_text(locked)
        )
        raise EditConflict(runbook=locked, base=base_revision, current=current, mine=text)
    parsed = parse_for_runbook(text, locked)
    return runbook_save_parsed(
        parsed=parsed,
        text=text,
        slug=locked.slug,
        path=locked.source_path,
        author=author,
        note=(note.strip() or EDIT_NOTE)[:500],
    )


def runbook_restore(
    *, runbook: Runbook, number: int, base_revision: int, author: AbstractBaseUser | None
) -> tuple[Runbook, str]:
    """Make revision ``number``'s text the newest revision (history is never rewritten)."""
    revision = RunbookRevision.objects.get(runbook=runbook, number=number)
    return runbook_edit_save(
        runbook=runbook,
        text=revision.markdown,
        base_revision=base_revision,
        author=author,
        note=f"Restored revision {number}",
    )


# --------------------------------------------------------------------------- new runbooks


@transaction.atomic
def _import_checked(
    *,
    sources: list[SourceFile],
    errors: list[FileError],
    author: AbstractBaseUser | None,
    note: str,
    require_new: bool = False,
    replace_existing: bool = True,
) -> ImportReport:
    """``runbooks_import`` (atomic, file:line errors; slugs the site cannot show are refused
    there) refusing, with ``require_new``, slugs that already exist, and without
    ``replace_existing`` raising ReplaceNotConfirmed. Refused → nothing is written."""
    report = runbooks_import(
        sources=sources,
        author=author,
        errors=errors,
        note=note,
        replace_existing=replace_existing,
    )
    paths = {source.slug: source.path for source in sources}
    if require_new:
        problems = [
            FileError(
                paths.get(slug, slug), 1, f"a runbook {slug!r} already exists; edit it instead"
            )
            for slug in report.updated + report.unchanged
        ]
        if problems:
            raise RunbookImportFailed(problems)  # rolls back this transaction
    return report


def runbook_create(
    *, slug: str, text: str, author: AbstractBaseUser | None, note: str = ""
) -> Runbook:
    """A new runbook from pasted text. Front matter ``slug:`` wins over ``slug``, as in
    the importer. Raises RunbookImportFailed (file:line errors) and writes nothing."""
    text = normalise_text(text)
    given, problem = slug_from_text(slug) if slug.strip() else ("", "")
    if problem:
        raise RunbookImportFailed([FileError("new runbook", 1, f"the slug {problem}")])
    path = f"{given}.md" if given else "new runbook"
    if not given and text.strip():
        try:
            from_text = read_front_matter(text.split("\n")).data.get("slug")
        except RunbookParseError:
            from_text = "unknown"  # the importer reports the real problem
        if from_text is None or from_text == "":
            message = "give the runbook a slug, a path such as cloud/kubernetes"
            raise RunbookImportFailed([FileError(path, 1, message)])
    source = SourceFile(path, given, text.encode("utf-8"))
    report = _import_checked(
        sources=[source],
        errors=[],
        author=author,
        note=note.strip() or "Created in the browser",
        require_new=True,
    )
    return Runbook.objects.get(slug=report.created[0])


def runbooks_upload(
    *,
    uploads: list[Upload],
    author: AbstractBaseUser | None,
    prefix: str = "",
    note: str = "",
    replace: bool = False,
) -> ImportReport:
    """Uploaded ``.md``/``.txt`` files and ``.zip`` archives, imported as one atomic batch.

    ``prefix`` goes before every slug, front-matter ones too. Unless ``replace``, an upload
    that would give existing runbooks a new revision raises ReplaceNotConfirmed (naming
    them) and writes nothing; RunbookImportFailed (file:line errors) on bad input.
    """
    try:
        prefix = upload_prefix(prefix)
    except ValueError as exc:
        raise RunbookImportFailed([FileError("folder", 1, str(exc))]) from None
    sources, errors = uploads_to_sources(uploads, prefix=prefix)
    if not sources and not errors:
        names = ", ".join(u.name for u in uploads) or "the upload"
        errors = [FileError(names, 1, "no runbook files (.md, .markdown, .txt) found")]
    names = ", ".join(u.name for u in uploads)
    return _import_checked(
        sources=sources,
        errors=errors,
        author=author,
        note=(note.strip() or f"Uploaded {names}")[:500],
        replace_existing=replace,
    )


# --------------------------------------------------------------------------- cause links


def link_owners(rb: Runbook) -> dict[str, list]:
    """Active patterns, checks and fixes of a runbook from ``with_parts()``, by link group."""
    return {
        "patterns": [p for p in rb.patterns.all() if not p.retired],
        "checks": [c for c in rb.checks.all() if not c.retired],
        "fixes": [f for f in rb.fix_patterns.all() if not f.retired],
    }


def confirmed_links(rb: Runbook, source: str) -> dict[str, dict[str, list[str]]]:
    """Items whose links an editor confirmed: group → key → cause keys.

    From the stored rows, plus the text's ``cause_links:`` (which alone can say "confirmed:
    no causes", a choice that leaves no row behind).
    """
    found: dict[str, dict[str, list[str]]] = {}
    for group, owners in link_owners(rb).items():
        for owner in owners:
            links = [link for link in owner.cause_links.all() if not link.cause.retired]
            if any(link.status == LinkStatus.CONFIRMED for link in links):
                found.setdefault(group, {})[owner.key] = [link.cause.key for link in links]
    try:
        parsed = parse_runbook(source, slug=rb.slug)
    except RunbookParseError:
        return found
    in_text = {"patterns": parsed.patterns, "checks": parsed.checks, "fixes": parsed.fix_patterns}
    for group, items in in_text.items():
        for item in items:
            if item.confirmed:
                found.setdefault(group, {}).setdefault(item.key, list(item.causes))
    return found


def links_from_form(
    *, shown: Iterable[str], linked: Iterable[str], confirmed: Iterable[str]
) -> dict[str, dict[str, set[str]]]:
    """The link editor's fields → the items the editor decided: group → key → cause keys.

    ``shown`` holds ``group:key|cause,cause`` (the links as displayed); ``linked`` holds
    ``group:key:cause`` per ticked box; ``confirmed`` holds ``group:key`` per item marked
    confirmed. An item is decided when it is confirmed or its ticked causes changed;
    undecided items stay the importer's proposals.
    """
    ticked: dict[str, set[str]] = {}
    for value in linked:
        item, sep, cause = value.rpartition(":")
        if sep and item:
            ticked.setdefault(item, set()).add(cause)
    sure = set(confirmed)
    decided: dict[str, dict[str, set[str]]] = {}
    for value in shown:
        item, _sep, before = value.partition("|")
        group, sep, key = item.partition(":")
        if not sep or group not in LINK_GROUPS or not key:
            continue
        now = ticked.get(item, set())
        if item in sure or now != {c for c in before.split(",") if c}:
            decided.setdefault(group, {})[key] = now
    return decided


def runbook_links_save(
    *,
    runbook: Runbook,
    decided: dict[str, dict[str, set[str]]],
    base_revision: int,
    author: AbstractBaseUser | None,
    note: str = "",
) -> tuple[Runbook, str]:
    """Confirm cause links: written into the text's ``cause_links:`` front matter and saved
    as a new revision, which stores them as confirmed link rows. Unknown keys are ignored.

    Because the text carries them, they survive later edits of the text (and exports); the
    importer also keeps confirmed rows of items whose key is unchanged.
    """
    rb = Runbook.objects.with_parts().get(pk=runbook.pk)
    source = runbook_source_text(rb)
    causes = [c.key for c in rb.causes.all() if not c.retired]
    current = confirmed_links(rb, source)
    chosen: dict[str, dict[str, list[str]]] = {}
    for group, owners in link_owners(rb).items():
        for owner in owners:
            picked = decided.get(group, {}).get(owner.key)
            if picked is None:
                picked = current.get(group, {}).get(owner.key)  # already confirmed: kept
            if picked is not None:
                chosen.setdefault(group, {})[owner.key] = [c for c in causes if c in picked]
    text = set_front_matter_key(source, "cause_links", chosen or None)
    return runbook_edit_save(
        runbook=rb,
        text=text,
        base_revision=base_revision,
        author=author,
        note=note.strip() or LINKS_NOTE,
    )
