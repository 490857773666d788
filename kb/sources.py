"""Find runbook files on disk and name them by slug (DESIGN.md §3–4).

A folder is walked without following symbolic links: a link (to a file or a folder) inside
an import root is refused with an error naming it, as is anything that would resolve
outside the root, so an import reads only what lies under the folders it was given.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from django.urls import Resolver404, resolve

from kb.front_matter import FrontMatter
from kb.markdown_io import MAX_RUNBOOK_BYTES
from kb.parse_errors import RunbookParseError
from kb.runbook_checks import join_slug, slug_from_relative_path, slug_from_text

RUNBOOK_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class SourceFile:
    """One runbook file read into memory.

    ``slug``: from its path relative to the import root (``prefix`` included), "" when the
    name leaves nothing usable; a front-matter ``slug:`` wins over it (``source_slug``).
    ``prefix``: a folder put before a front-matter slug too (uploads into a folder).
    """

    path: str  # as shown in messages
    slug: str
    data: bytes
    prefix: str = ""


@dataclass(frozen=True)
class FileError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def read_limited(path: Path, limit: int = MAX_RUNBOOK_BYTES) -> bytes:
    """Read at most one byte past ``limit``, so an oversized file is refused cheaply.

    Opened without following a symbolic link (a link swapped in after the walk is refused
    by the OS) and only if it is a regular file (a FIFO would block the import forever).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        return handle.read(limit + 1)


def _is_runbook_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in RUNBOOK_SUFFIXES


def _walk(root: Path) -> tuple[list[tuple[Path, str]], list[FileError]]:
    """Runbook files under ``root`` as (path, path relative to root), sorted, and errors.

    Iterative (no recursion limit on deep trees), never following a link. Hidden files and
    folders are skipped; a link to a folder, or to a runbook-named file, is an error; links
    to other files are skipped like any file that is not a runbook.
    """
    found: list[tuple[Path, str]] = []
    errors: list[FileError] = []
    real_root = root.resolve()
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        folder, relative = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            errors.append(FileError(str(folder), 1, f"cannot read folder: {exc.strerror}"))
            continue
        for entry in listing:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            child = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_symlink():
                if entry.is_dir() or _is_runbook_name(entry.name):
                    errors.append(
                        FileError(
                            str(path),
                            1,
                            "is a symbolic link; links are not followed "
                            "(import the file or folder it points to instead)",
                        )
                    )
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append((path, child))
            elif _is_runbook_name(entry.name):
                if not entry.is_file(follow_symlinks=False):
                    errors.append(FileError(str(path), 1, "not a regular file"))
                elif not path.resolve().is_relative_to(real_root):
                    errors.append(FileError(str(path), 1, f"resolves outside {root}; refused"))
                else:
                    found.append((path, child))
    found.sort(key=lambda pair: pair[1].split("/"))  # as sorted Paths compare
    return found, errors


def collect_sources(paths: list[Path]) -> tuple[list[SourceFile], list[FileError]]:
    """Files are named relative to their folder; folders are searched recursively.

    Returns every readable runbook file and an error (``path:line: message``) for each
    file or folder that cannot be imported: missing, a symbolic link, unreadable.
    """
    sources: list[SourceFile] = []
    errors: list[FileError] = []
    for root in paths:
        if root.is_dir():
            found, failed = _walk(root)
            errors += failed
            pairs = [(path, path, relative) for path, relative in found]
        elif root.is_file():
            # A file named on the command line is read where it points: the operator
            # chose it. Links are refused only inside the folders being walked.
            pairs = [(root.resolve(), root, root.name)]
        else:
            errors.append(FileError(str(root), 1, "no such file or folder"))
            continue
        for read_path, shown, relative in pairs:
            try:
                data = read_limited(read_path)
            except OSError as exc:
                reason = exc.strerror or "unknown error"
                if exc.errno == getattr(os, "ELOOP", -1):
                    reason = "it is a symbolic link"
                errors.append(FileError(str(shown), 1, f"cannot read: {reason}"))
                continue
            sources.append(SourceFile(str(shown), slug_from_relative_path(relative), data))
    return sources, errors


# --------------------------------------------------------------------------- slugs


def slug_is_addressable(slug: str) -> bool:
    """Does ``/runbooks/<slug>/`` reach the runbook page? ``new``, ``health`` and slugs
    ending in ``/edit`` or ``/history`` are taken by other pages."""
    if not slug:
        return False
    try:
        match = resolve(f"/runbooks/{slug}/")
    except Resolver404:
        return False
    return match.url_name == "runbook_detail" and match.kwargs.get("slug") == slug


def front_matter_slug(front: FrontMatter, *, prefix: str = "") -> tuple[str, int] | None:
    """The front matter's ``slug:`` (normalised, ``prefix`` before it) and its line, or None
    without one. Raises RunbookParseError at that line when it cannot be a slug."""
    raw = front.data.get("slug")
    if raw is None or raw == "":
        return None
    line = front.line_of("slug")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise RunbookParseError("front matter slug must be text such as cloud/kubernetes", line)
    slug, problem = slug_from_text(str(raw))
    if problem:
        shown = str(raw) if len(str(raw)) <= 60 else str(raw)[:60] + "…"
        raise RunbookParseError(f"front matter slug {shown!r} {problem}", line)
    return join_slug(prefix, slug), line


def source_slug(source: SourceFile, front: FrontMatter) -> tuple[str, int]:
    """The slug ``source`` is imported under, and the line that decided it (1 for a path).

    Front matter ``slug:`` wins (with the source's prefix), else the path's slug. Raises
    RunbookParseError when neither gives one, or when ``/runbooks/<slug>/`` would be
    another page's address.
    """
    chosen = front_matter_slug(front, prefix=source.prefix)
    what = "front matter slug"
    if chosen is None:
        if not source.slug:
            raise RunbookParseError(
                "cannot make a slug from the file name; add a slug: to the front matter "
                "(for example slug: cloud/kubernetes)",
                1,
            )
        chosen, what = (source.slug, 1), "slug"
    slug, line = chosen
    if not slug_is_addressable(slug):
        raise RunbookParseError(
            f"{what} {slug!r} is taken by another page (/runbooks/{slug}/); choose another", line
        )
    return slug, line
