"""kb.sources and kb.uploads: what an import reads, and the slug each file gets."""

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from kb.front_matter import read_front_matter
from kb.parse_errors import RunbookParseError
from kb.sources import SourceFile, collect_sources, source_slug
from kb.uploads import Upload, uploads_to_sources, zip_to_sources

RUNBOOK = "# Disk full\n\nSome text.\n"


def write(path: Path, text: str = RUNBOOK) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder next to the import root, holding what a link could reach."""
    write(tmp_path / "outside" / "secret.md", "# Secret\n")
    write(tmp_path / "outside" / "deeper" / "more.md", "# More\n")
    return tmp_path / "outside"


def test_collect_sources_refuses_links_to_files_and_folders(tmp_path, outside):
    root = tmp_path / "root"
    write(root / "real.md")
    (root / "file-link.md").symlink_to(outside / "secret.md")
    (root / "folder-link").symlink_to(outside, target_is_directory=True)
    (root / "LICENSE").symlink_to(outside / "secret.md")  # not a runbook name: skipped
    sources, errors = collect_sources([root])
    assert [s.slug for s in sources] == ["real"]
    assert sorted(str(e) for e in errors) == [
        f"{root / 'file-link.md'}:1: is a symbolic link; links are not followed "
        "(import the file or folder it points to instead)",
        f"{root / 'folder-link'}:1: is a symbolic link; links are not followed "
        "(import the file or folder it points to instead)",
    ]
    assert not any(b"Secret" in s.data or b"More" in s.data for s in sources)


def test_collect_sources_refuses_a_link_deep_inside_a_folder(tmp_path, outside):
    root = tmp_path / "root"
    write(root / "a" / "b" / "ok.md")
    (root / "a" / "b" / "up").symlink_to(tmp_path, target_is_directory=True)  # a loop, too
    sources, errors = collect_sources([root])
    assert [s.slug for s in sources] == ["a/b/ok"]
    assert [e.path for e in errors] == [str(root / "a" / "b" / "up")]


def test_collect_sources_refuses_a_fifo_instead_of_blocking(tmp_path):
    write(tmp_path / "ok.md")
    os.mkfifo(tmp_path / "pipe.md")
    sources, errors = collect_sources([tmp_path])
    assert [s.slug for s in sources] == ["ok"]
    assert [str(e) for e in errors] == [f"{tmp_path / 'pipe.md'}:1: not a regular file"]


def test_collect_sources_names_files_in_any_script(tmp_path):
    write(tmp_path / "障害.md")
    write(tmp_path / "Ops" / "Straße.md")
    write(tmp_path / "!!!.md")
    sources, errors = collect_sources([tmp_path])
    assert errors == []
    assert {Path(s.path).name: s.slug for s in sources} == {
        "!!!.md": "",  # decided by the importer: front matter slug:, or an error
        "Straße.md": "ops/strasse",
        "障害.md": "zhanghai",
    }


def test_collect_sources_reads_a_named_file_through_its_link(tmp_path, outside):
    """A file named on the command line is the operator's choice; only walks refuse links."""
    link = tmp_path / "chosen.md"
    link.symlink_to(outside / "secret.md")
    sources, errors = collect_sources([link])
    assert errors == [] and [(s.path, s.slug, s.data) for s in sources] == [
        (str(link), "chosen", b"# Secret\n")
    ]


def front(text: str):
    return read_front_matter(text.split("\n"))


@pytest.mark.parametrize(
    ("source", "text", "slug", "line"),
    [
        (SourceFile("x.md", "x", b""), "# T", "x", 1),
        (SourceFile("障害.md", "zhanghai", b""), "---\nslug: ops/outage\n---\n", "ops/outage", 2),
        (SourceFile("x.md", "shop/x", b"", "shop"), "---\na: 1\nslug: Pay/X\n---", "shop/pay/x", 3),
        (SourceFile("!!!.md", "", b""), "---\nslug: ops/x\n---\n", "ops/x", 2),
    ],
)  # fmt: skip
def test_source_slug_lets_front_matter_win_with_the_prefix(source, text, slug, line):
    assert source_slug(source, front(text)) == (slug, line)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\nslug: ../../x\n---\n", 2, "front matter slug '../../x' must not contain '.'"),
        ("---\ntitle: T\nslug: new\n---\n", 3, "front matter slug 'new' is taken by another page"),
        ("---\nslug: a/edit\n---\n", 2, "front matter slug 'a/edit' is taken by another page"),
        ("---\nslug: [a, b]\n---\n", 2, "front matter slug must be text"),
        ("# T", 1, "cannot make a slug from the file name; add a slug: to the front matter"),
    ],
)  # fmt: skip
def test_source_slug_refuses_slugs_no_page_can_have(text, line, message):
    with pytest.raises(RunbookParseError) as caught:
        source_slug(SourceFile("!!!.md", "", b""), front(text))
    assert (caught.value.line, caught.value.message.startswith(message)) == (line, True)


def zip_of(members: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16  # as `zip --symlinks` stores it
            archive.writestr(info, target)
    buffer.seek(0)
    return buffer


def test_zip_to_sources_refuses_a_member_stored_as_a_link():
    archive = zip_of({"ok.md": RUNBOOK.encode()}, links={"evil.md": "/etc/passwd"})
    sources, errors = zip_to_sources(archive, name="set.zip")
    assert sources == []
    assert [str(e) for e in errors] == ["set.zip/evil.md:1: is a symbolic link; not imported"]


def test_uploads_to_sources_carry_the_prefix_for_front_matter_slugs():
    uploads = [
        Upload("障害.md", 4, io.BytesIO(RUNBOOK.encode())),
        Upload("set.zip", 0, zip_of({"a/!!!.md": RUNBOOK.encode()})),
    ]
    sources, errors = uploads_to_sources(uploads, prefix="Cloud/")
    assert errors == []
    assert [(s.slug, s.prefix) for s in sources] == [("cloud/zhanghai", "cloud"), ("", "cloud")]


def test_uploads_to_sources_refuses_a_prefix_that_is_not_a_folder():
    with pytest.raises(ValueError, match=r"must not contain '\.' or '\.\.' segments"):
        uploads_to_sources([], prefix="../x")
