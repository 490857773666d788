"""Uploaded runbook files and ``.zip`` archives → SourceFiles for the importer. No ORM.

Nothing is ever extracted to disk: archive members are read into memory, with bounded reads,
and their paths are only used to name slugs. Still, a path that would escape a folder
(absolute, a drive letter, ``..``) or a member stored as a symbolic link refuses the
archive, and limits on the number of files and on the total uncompressed bytes stop zip
bombs before they expand.

Slugs: a file's path (inside the zip) gives its slug, transliterated when it is not ASCII,
and the chosen folder goes before it; the importer lets a front-matter ``slug:`` win, with
the same folder before it (``SourceFile.prefix``).
"""

from __future__ import annotations

import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from kb.markdown_io import MAX_RUNBOOK_BYTES
from kb.runbook_checks import join_slug, slug_from_relative_path, slug_from_text
from kb.sources import RUNBOOK_SUFFIXES, FileError, SourceFile

ZIP_SUFFIX = ".zip"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # one uploaded file, zip or not, as sent
MAX_ZIP_FILES = 500  # runbook files in one archive
MAX_ZIP_ENTRIES = 5000  # every entry, folders and skipped files included
MAX_ZIP_TOTAL_BYTES = 50 * 1024 * 1024  # uncompressed runbook bytes in one archive


@dataclass(frozen=True)
class UploadLimits:
    upload_bytes: int = MAX_UPLOAD_BYTES
    zip_files: int = MAX_ZIP_FILES
    zip_entries: int = MAX_ZIP_ENTRIES
    zip_total_bytes: int = MAX_ZIP_TOTAL_BYTES
    file_bytes: int = MAX_RUNBOOK_BYTES


@dataclass(frozen=True)
class Upload:
    name: str  # as the browser sent it
    size: int
    stream: BinaryIO


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} byte"


def _source(shown: str, relative: str, data: bytes, prefix: str) -> SourceFile:
    """``data`` named ``shown``; its path slug ("" when the name gives none) under ``prefix``."""
    return SourceFile(shown, join_slug(prefix, slug_from_relative_path(relative)), data, prefix)


def upload_prefix(value: str) -> str:
    """A folder typed by the user → the slug prefix, "" for none. Raises ValueError
    (a sentence) when it cannot be one: ``..``, empty segments, nothing usable."""
    if not value.strip().strip("/"):
        return ""
    prefix, problem = slug_from_text(value)
    if problem:
        raise ValueError(f"the folder {problem}")
    return prefix


def uploads_to_sources(
    uploads: list[Upload], *, prefix: str = "", limits: UploadLimits | None = None
) -> tuple[list[SourceFile], list[FileError]]:
    """Runbook files become one source each; a zip becomes one per runbook file inside.

    ``prefix`` (a folder such as ``cloud``) goes before every slug, front-matter ones too.
    Raises ValueError for a prefix that cannot be a folder (see ``upload_prefix``).
    """
    limits = limits or UploadLimits()
    prefix = upload_prefix(prefix)
    sources: list[SourceFile] = []
    errors: list[FileError] = []
    for upload in uploads:
        name = posixpath.basename(upload.name.replace("\\", "/")) or "upload"
        suffix = posixpath.splitext(name)[1].lower()
        if upload.size > limits.upload_bytes:
            limit = _mb(limits.upload_bytes)
            errors.append(FileError(name, 1, f"upload is over the {limit} limit"))
        elif suffix == ZIP_SUFFIX:
            found, failed = zip_to_sources(upload.stream, name=name, prefix=prefix, limits=limits)
            sources += found
            errors += failed
        elif suffix in RUNBOOK_SUFFIXES:
            data = upload.stream.read(limits.file_bytes + 1)
            sources.append(_source(name, name, data, prefix))
        else:
            allowed = ", ".join((*RUNBOOK_SUFFIXES, ZIP_SUFFIX))
            errors.append(FileError(name, 1, f"not a runbook file or a zip ({allowed})"))
    return sources, errors


def _unsafe(path: str) -> bool:
    return (
        path.startswith("/")
        or bool(re.match(r"^[A-Za-z]:", path))
        or ".." in path.split("/")
        or "\x00" in path
    )


def _is_link(info: zipfile.ZipInfo) -> bool:
    """A member stored as a symbolic link (Unix mode bits in the external attributes):
    its content is a path, not a runbook."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _skipped(parts: list[str]) -> bool:
    """Hidden files and folders (``.git``, macOS ``__MACOSX`` resource forks), non-runbooks."""
    if any(part.startswith(".") or part == "__MACOSX" for part in parts):
        return True
    return posixpath.splitext(parts[-1])[1].lower() not in RUNBOOK_SUFFIXES


def zip_to_sources(
    stream: BinaryIO, *, name: str, prefix: str = "", limits: UploadLimits | None = None
) -> tuple[list[SourceFile], list[FileError]]:
    """The runbook files of an archive; a member's path inside it becomes its slug."""
    limits = limits or UploadLimits()
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        return [], [FileError(name, 1, "not a readable .zip archive")]
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.zip_entries:
            message = f"{len(entries)} entries, over the limit of {limits.zip_entries}"
            return [], [FileError(name, 1, message)]
        wanted: list[tuple[zipfile.ZipInfo, str]] = []
        errors: list[FileError] = []
        for info in entries:
            path = info.filename.replace("\\", "/")
            if _unsafe(path):
                errors.append(
                    FileError(f"{name}/{info.filename}", 1, "unsafe path (absolute or '..')")
                )
                continue
            parts = [p for p in path.split("/") if p not in ("", ".")]
            if info.is_dir() or not parts or _skipped(parts):
                continue
            if _is_link(info):
                errors.append(
                    FileError(f"{name}/{info.filename}", 1, "is a symbolic link; not imported")
                )
                continue
            wanted.append((info, "/".join(parts)))
        if errors:
            return [], errors
        if len(wanted) > limits.zip_files:
            message = f"{len(wanted)} runbook files, over the limit of {limits.zip_files}"
            return [], [FileError(name, 1, message)]
        return _read_members(archive, wanted, name=name, prefix=prefix, limits=limits)


def _read_members(
    archive: zipfile.ZipFile,
    wanted: list[tuple[zipfile.ZipInfo, str]],
    *,
    name: str,
    prefix: str,
    limits: UploadLimits,
) -> tuple[list[SourceFile], list[FileError]]:
    sources: list[SourceFile] = []
    errors: list[FileError] = []
    total = 0
    for info, relative in wanted:
        shown = f"{name}/{relative}"
        if info.flag_bits & 0x1:
            errors.append(FileError(shown, 1, "encrypted; upload it without a password"))
            continue
        try:
            with archive.open(info) as member:
                # One byte past the limit, so an oversized file is refused by the importer.
                data = member.read(limits.file_bytes + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
            errors.append(FileError(shown, 1, f"cannot be read from the archive ({exc})"))
            continue
        total += len(data)
        if total > limits.zip_total_bytes:
            limit = _mb(limits.zip_total_bytes)
            return [], [FileError(name, 1, f"expands to more than {limit}; split it")]
        sources.append(_source(shown, relative, data, prefix))
    return sources, errors
