"""Find runbook files on disk and name them by slug (DESIGN.md §3–4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kb.markdown_io import MAX_RUNBOOK_BYTES, RunbookParseError, slug_from_path

RUNBOOK_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class SourceFile:
    path: str  # as shown in messages
    slug: str  # from the path relative to the import root
    data: bytes


@dataclass(frozen=True)
class FileError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def read_limited(path: Path, limit: int = MAX_RUNBOOK_BYTES) -> bytes:
    """Read at most one byte past ``limit``, so an oversized file is refused cheaply."""
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def collect_sources(paths: list[Path]) -> tuple[list[SourceFile], list[FileError]]:
    """Files are named relative to their folder; folders are searched recursively."""
    sources: list[SourceFile] = []
    errors: list[FileError] = []
    for root in paths:
        if root.is_dir():
            found = sorted(
                p
                for p in root.rglob("*")
                if p.is_file()
                and p.suffix.lower() in RUNBOOK_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
            pairs = [(p, p.relative_to(root).as_posix()) for p in found]
        elif root.is_file():
            pairs = [(root, root.name)]
        else:
            errors.append(FileError(str(root), 1, "no such file or folder"))
            continue
        for file_path, relative in pairs:
            try:
                sources.append(
                    SourceFile(str(file_path), slug_from_path(relative), read_limited(file_path))
                )
            except RunbookParseError as exc:
                errors.append(FileError(str(file_path), exc.line, exc.message))
            except OSError as exc:
                errors.append(FileError(str(file_path), 1, f"cannot read: {exc.strerror}"))
    return sources, errors
