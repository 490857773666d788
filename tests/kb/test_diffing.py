"""Pure helpers of the authoring pages: line diffs, front matter edits, upload unpacking."""

import difflib
import io
import random
import zipfile

import pytest
import yaml

from kb.diffing import line_diff
from kb.front_matter import set_front_matter_key
from kb.markdown_io import parse_runbook
from kb.uploads import Upload, UploadLimits, uploads_to_sources, zip_to_sources

OLD = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
NEW = "a\nb\nX\nd\ne\nf\ng\nh\ni\nj\nk\n"


# --- line diff ----------------------------------------------------------------------------


def test_line_diff_hunks_match_unified_diff():
    diff = line_diff(OLD, NEW, context=1)
    expected = list(difflib.unified_diff(OLD.splitlines(), NEW.splitlines(), lineterm="", n=1))
    ours = diff.unified().splitlines()
    # Same changed lines and context; headers differ only in omitting ",1".
    assert [line for line in ours if not line.startswith("@@")] == [
        line for line in expected[2:] if not line.startswith("@@")
    ]
    assert [h.header for h in diff.hunks] == ["@@ -2,3 +2,3 @@", "@@ -10,1 +10,2 @@"]
    assert (diff.added, diff.removed) == (2, 1)


def test_line_diff_numbers_lines_on_both_sides():
    diff = line_diff(OLD, NEW, context=1)
    first = diff.hunks[0].lines
    assert [(line.kind, line.old_number, line.new_number, line.text) for line in first] == [
        ("same", 2, 2, "b"),
        ("del", 3, None, "c"),
        ("add", None, 3, "X"),
        ("same", 4, 4, "d"),
    ]


def test_line_diff_of_equal_texts_is_empty_and_ignores_line_endings():
    diff = line_diff(OLD, OLD.replace("\n", "\r\n"))
    assert not diff.changed and diff.hunks == () and (diff.added, diff.removed) == (0, 0)


def test_line_diff_from_and_to_nothing():
    assert line_diff("", "x\n").unified() == "@@ -0,0 +1,1 @@\n+x"
    assert line_diff("x\n", "").unified() == "@@ -1,1 +0,0 @@\n-x"


# --- front matter -------------------------------------------------------------------------

WITH_FRONT_MATTER = """---
title: X  # a comment that must survive
tags: [a, b]
cause_links:
  checks:
    old-check:
    - old-cause

updated: 2024-01-01
---

# T
"""


def test_set_front_matter_key_replaces_only_that_key():
    links = {"patterns": {"p": ["a", "b"]}}
    text = set_front_matter_key(WITH_FRONT_MATTER, "cause_links", links)
    assert "title: X  # a comment that must survive\ntags: [a, b]\n" in text
    assert "old-cause" not in text
    assert text.endswith("updated: 2024-01-01\n---\n\n# T\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["cause_links"] == links and front["tags"] == ["a", "b"]


def test_set_front_matter_key_none_removes_it_and_an_empty_front_matter():
    text = set_front_matter_key(WITH_FRONT_MATTER, "cause_links", None)
    assert "cause_links" not in text and "tags: [a, b]" in text
    assert set_front_matter_key("---\ncause_links: {}\n---\n\n# T\n", "cause_links", None) == (
        "# T\n"
    )
    assert set_front_matter_key("# T\n", "cause_links", None) == "# T\n"


def test_set_front_matter_key_adds_front_matter_to_a_plain_runbook(seed_text):
    before = parse_runbook(seed_text)
    pattern, cause = before.patterns[0].key, before.causes[2].key
    text = set_front_matter_key(seed_text, "cause_links", {"patterns": {pattern: [cause]}})
    assert text.startswith("---\ncause_links:\n")
    assert text.endswith(seed_text)
    after = parse_runbook(text)
    assert (after.patterns[0].causes, after.patterns[0].confirmed) == ([cause], True)
    assert after.title == before.title and len(after.causes) == len(before.causes)


def test_set_front_matter_key_rewrites_unusual_layouts_correctly():
    text = "---\ncause_links: {patterns:\n  {p: [a]}}\nslug: x\n---\n# T\n"
    result = set_front_matter_key(text, "cause_links", {"checks": {"c": []}})
    expected = {"slug": "x", "cause_links": {"checks": {"c": []}}}
    assert yaml.safe_load(result.split("---\n")[1]) == expected


# --- uploads ------------------------------------------------------------------------------


def make_zip(files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_zip_paths_inside_become_slugs_and_other_files_are_skipped():
    archive = make_zip(
        {
            "cloud/Blue Green.md": b"# A\n",
            "storage/lag.txt": b"B\n",
            "README": b"not a runbook",
            "cloud/.hidden.md": b"# hidden\n",
            "__MACOSX/cloud/._Blue Green.md": b"\x00\x01",
            "image.png": b"\x89PNG",
        }
    )
    sources, errors = zip_to_sources(archive, name="kb.zip")
    assert errors == []
    assert [(s.path, s.slug) for s in sources] == [
        ("kb.zip/cloud/Blue Green.md", "cloud/blue-green"),
        ("kb.zip/storage/lag.txt", "storage/lag"),
    ]


@pytest.mark.parametrize("bad", ["../escape.md", "/etc/passwd.md", "a/../../b.md", "C:/x.md"])
def test_zip_with_an_unsafe_path_is_refused_whole(bad):
    sources, errors = zip_to_sources(make_zip({"ok.md": b"# ok\n", bad: b"# bad\n"}), name="k.zip")
    assert sources == []
    assert [e.message for e in errors] == ["unsafe path (absolute or '..')"]


def test_zip_bomb_limits_on_file_count_and_total_bytes():
    many = make_zip({f"r{i}.md": b"# r\n" for i in range(6)})
    _sources, errors = zip_to_sources(many, name="m.zip", limits=UploadLimits(zip_files=5))
    assert [str(e) for e in errors] == ["m.zip:1: 6 runbook files, over the limit of 5"]

    entries = make_zip({f"x{i}.png": b"" for i in range(12)})
    _sources, errors = zip_to_sources(entries, name="e.zip", limits=UploadLimits(zip_entries=10))
    assert "12 entries, over the limit of 10" in str(errors[0])

    # 3 × 1 MB of zeros compress to a few KB; reading stops at the total limit.
    bomb = make_zip({f"z{i}.md": b"0" * 1_000_000 for i in range(3)})
    assert len(bomb.getvalue()) < 20_000
    limits = UploadLimits(zip_total_bytes=2_500_000)
    sources, errors = zip_to_sources(bomb, name="bomb.zip", limits=limits)
    assert sources == [] and "expands to more than" in errors[0].message


def test_zip_member_over_the_file_limit_is_read_only_one_byte_past_it():
    archive = make_zip({"big.md": b"#" * 5000})
    sources, _errors = zip_to_sources(archive, name="b.zip", limits=UploadLimits(file_bytes=100))
    assert len(sources[0].data) == 101  # the importer then refuses it as over the limit


def test_not_a_zip_and_not_a_runbook_are_named():
    uploads = [
        Upload("broken.zip", 9, io.BytesIO(b"not a zip")),
        Upload("notes.pdf", 3, io.BytesIO(b"pdf")),
        Upload("huge.md", 10, io.BytesIO(b"# x\n")),
    ]
    _sources, errors = uploads_to_sources(uploads, limits=UploadLimits(upload_bytes=9))
    assert [str(e) for e in errors] == [
        "broken.zip:1: not a readable .zip archive",
        "notes.pdf:1: not a runbook file or a zip (.md, .markdown, .txt, .zip)",
        "huge.md:1: upload is over the 9 byte limit",
    ]


def test_uploaded_files_take_the_folder_prefix():
    uploads = [
        Upload("Pods Crash.md", 4, io.BytesIO(b"# x\n")),
        Upload("set.zip", 0, make_zip({"a/b.md": b"# b\n"})),
    ]
    sources, errors = uploads_to_sources(uploads, prefix="Cloud/")
    assert errors == []
    assert [s.slug for s in sources] == ["cloud/pods-crash", "cloud/a/b"]


def assert_diff_rebuilds(old: str, new: str, diff) -> None:
    """Every line the hunks show is where they say, and the lines outside them are the same
    on both sides: applying the diff to ``old`` gives ``new``."""
    a, b = old.split("\n"), new.split("\n")
    shown_a, shown_b = set(), set()
    for hunk in diff.hunks:
        for line in hunk.lines:
            if line.old_number is not None:
                assert a[line.old_number - 1] == line.text
                shown_a.add(line.old_number)
            if line.new_number is not None:
                assert b[line.new_number - 1] == line.text
                shown_b.add(line.new_number)
    outside_a = [t for n, t in enumerate(a, 1) if n not in shown_a]
    outside_b = [t for n, t in enumerate(b, 1) if n not in shown_b]
    assert outside_a == outside_b
    assert diff.added == sum(1 for h in diff.hunks for line in h.lines if line.kind == "add")


def test_line_diff_of_long_texts_of_repeated_lines_is_correct():
    # 12,000 short lines drawn from three: quadratic for difflib (11 s); diff-match-patch
    # answers within its time limit, with a correct if not minimal diff.
    rng = random.Random(2)
    old = "\n".join(rng.choice(["a", "b", ""]) for _ in range(12_000))
    new = "\n".join(rng.choice(["a", "b", ""]) for _ in range(12_000))
    assert_diff_rebuilds(old, new, line_diff(old, new))


def test_line_diff_of_a_long_runbook_with_a_few_edits_is_minimal():
    rng = random.Random(3)
    old_lines = [rng.choice(["", "|---|---|", "- item", f"line {n}"]) for n in range(4_000)]
    new_lines = list(old_lines)
    new_lines[10] = "changed ten"
    new_lines[3_000] = "changed three thousand"
    del new_lines[100:130]
    old, new = "\n".join(old_lines), "\n".join(new_lines)
    diff = line_diff(old, new)
    assert (diff.added, diff.removed) == (2, 32)
    assert_diff_rebuilds(old, new, diff)
