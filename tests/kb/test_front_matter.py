"""kb.front_matter: YAML and TOML front matter read safely, every problem at its file line."""

import time
import tracemalloc

import pytest

from kb.front_matter import (
    MAX_DEPTH,
    MAX_FRONT_MATTER_CHARS,
    read_front_matter,
    set_front_matter_key,
)
from kb.parse_errors import RunbookParseError

# The classic "billion laughs": 494 bytes that yaml.safe_load expands to 10**9 strings.
ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
# Title
"""
NEARLY_FULL = MAX_FRONT_MATTER_CHARS - 64
DEEP = {
    "yaml flow on one line": "---\nx: " + "[" * NEARLY_FULL + "\n---\n# T\n",
    "yaml flow over lines": "---\nx:\n" + "[\n" * (NEARLY_FULL // 2) + "---\n# T\n",
    "yaml block": "---\n" + "".join(" " * i + "a:\n" for i in range(200)) + "---\n# T\n",
    "toml arrays": "+++\nx = " + "[" * NEARLY_FULL + "\n+++\n# T\n",
    "toml dotted keys": "+++\n" + ".".join(["a"] * 2000) + " = 1\n+++\n# T\n",
}


def read(text: str):
    return read_front_matter(text.split("\n"))


def error_of(text: str) -> RunbookParseError:
    with pytest.raises(RunbookParseError) as caught:
        read(text)
    return caught.value


def measured(text: str) -> tuple[RunbookParseError, float, int]:
    """(the error, seconds, peak bytes allocated) reading ``text``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = error_of(text)
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, elapsed, peak


def test_read_front_matter_keeps_every_key_with_json_safe_values_and_key_lines():
    fm = read(
        "\n---\ntitle: Disk full\nupdated: 2024-05-01\nowner: {team: storage, pager: [a, b]}\n"
        "score: .inf\nweight: 20\nserial: 123456789012345678901234567890\n---\n# Disk full\n"
    )
    assert fm.data == {
        "title": "Disk full",
        "updated": "2024-05-01",
        "owner": {"team": "storage", "pager": ["a", "b"]},
        "score": "inf",  # not JSON: PostgreSQL's jsonb would refuse it
        "weight": 20,
        "serial": "123456789012345678901234567890",
    }
    assert (fm.kind, fm.body_start) == ("yaml", 9)
    assert fm.key_lines == {
        "title": 3,
        "updated": 4,
        "owner": 5,
        "score": 6,
        "weight": 7,
        "serial": 8,
    }


def test_read_front_matter_reads_toml_between_plus_fences():
    fm = read(
        '+++\ntitle = "Disk full"\ntags = ["storage", "disk"]\ndate = 2024-05-01\n\n'
        '[params]\nowner = "storage"\n+++\n\n# Disk full\n'
    )
    assert fm.kind == "toml" and fm.body_start == 8
    assert fm.data == {
        "title": "Disk full",
        "tags": ["storage", "disk"],
        "date": "2024-05-01",
        "params": {"owner": "storage"},
    }
    assert fm.line_of("tags") == 3 and fm.line_of("params") == 6


def test_read_front_matter_without_front_matter_is_empty():
    assert read("# Title\n\n---\nnot: front matter\n---\n") == read_front_matter([])
    assert read("# Title\n").body_start == 0


def test_read_front_matter_refuses_an_alias_bomb_quickly_and_small():
    assert len(ALIAS_BOMB.encode()) < 600  # the reported one was 494 bytes
    error, elapsed, peak = measured(ALIAS_BOMB)
    assert (error.line, "anchor &a" in error.message) == (2, True)
    assert "not allowed" in error.message
    assert elapsed < 1.0 and peak < 100 * 1024 * 1024


def test_read_front_matter_refuses_an_alias_without_an_anchor_line():
    error = error_of("---\nx: 1\ny: *nowhere\n---\n# T\n")
    assert error.line == 3  # the alias itself, even with no anchor before it


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_read_front_matter_refuses_deep_nesting_quickly_and_small(text):
    error, elapsed, peak = measured(text)
    assert f"nested more than {MAX_DEPTH} levels deep" in error.message
    assert elapsed < 1.0 and peak < 100 * 1024 * 1024


def test_read_front_matter_accepts_nesting_up_to_the_cap():
    text = "---\nx: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n---\n# T\n"
    value = read(text).data["x"]
    for _level in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('---\ntitle: "a\\0b"\n---\n# T\n', 2, "value of 'title' contains a NUL character"),
        # libyaml refuses the escape itself; the pure-Python parser passes it to the check.
        ('\n\n---\nx: 1\ntags: ["\\udfff"]\n---\n# T\n', 5, "surrogate|invalid Unicode"),
        ('---\nowner:\n  team:\n    - ok\n    - "x\\x00"\n---\n# T\n', 5, "NUL character"),
        ('---\n"a\\0": 1\n---\n# T\n', 2, "key 'a\\x00' contains a NUL character"),
        ("---\nx: 1\ny: a\x00b\n---\n# T\n", 3, "contains a NUL character"),
        ('+++\nx = 1\ntitle = "a\\u0000b"\n+++\n# T\n', 3, "NUL character"),
        ('+++\ntitle = "\\udfff"\n+++\n# T\n', 2, "not a Unicode scalar value"),
    ],
)
def test_read_front_matter_names_the_file_line_of_a_nul_or_lone_surrogate(text, line, message):
    error = error_of(text)
    found = any(part in error.message for part in message.split("|"))
    assert (error.line, found) == (line, True), error


def test_read_front_matter_refuses_a_key_given_twice():
    error = error_of("---\ntitle: One\nslug: a\ntitle: Two\n---\n# T\n")
    assert error.line == 4 and "'title' is given twice (also on line 2)" in error.message


def test_read_front_matter_caps_the_block():
    big = "---\n" + "".join(f"k{i}: {'x' * 60}\n" for i in range(2000)) + "---\n# T\n"
    error = error_of(big)
    assert error.line == 1 and "over the 64 KB limit" in error.message
    unclosed = error_of("---\ntitle: x\n\n# T\n")
    assert unclosed.line == 1 and "never closed" in unclosed.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\ntags: [a\n---\n# T\n", 2, "front matter is not valid YAML"),
        ("+++\ntitle = 'ok'\ntags = \n+++\n# T\n", 3, "front matter is not valid TOML: Invalid"),
        ("---\n- a\n---\n# T\n", 2, "must be a mapping"),
        ("---\nx: 1" + "0" * 5000 + "\n---\n# T\n", 2, "cannot be read"),
    ],
)
def test_read_front_matter_names_the_line_of_unreadable_front_matter(text, line, message):
    error = error_of(text)
    assert (error.line, message in error.message) == (line, True), error


def test_set_front_matter_key_converts_toml_front_matter_to_yaml():
    text = '+++\ntitle = "Disk full"\nweight = 20\n+++\n\n# Disk full\n'
    changed = set_front_matter_key(text, "cause_links", {"checks": {"df": ["disk"]}})
    assert changed.startswith("---\ntitle: Disk full\nweight: 20\ncause_links:\n")
    assert changed.endswith("---\n\n# Disk full\n") and "+++" not in changed
    fm = read(changed)
    assert fm.data == {
        "title": "Disk full",
        "weight": 20,
        "cause_links": {"checks": {"df": ["disk"]}},
    }


def test_set_front_matter_key_keeps_yaml_as_written():
    text = "---\n# kept comment\ntitle: x\n---\n# x\n"
    changed = set_front_matter_key(text, "cause_links", {"fixes": {"f": []}})
    assert changed == "---\n# kept comment\ntitle: x\ncause_links:\n  fixes:\n    f: []\n---\n# x\n"


def test_read_front_matter_is_as_safe_with_the_pure_python_yaml_parser(monkeypatch):
    """Where PyYAML was built without libyaml, the same checks hold, as fast."""
    import yaml

    monkeypatch.setattr("kb.front_matter._LOADER", yaml.SafeLoader)
    error = error_of('\n\n---\nx: 1\ntags: ["\\udfff"]\n---\n# T\n')
    assert error.line == 5 and "value of 'tags' contains a lone surrogate" in error.message
    for text in (ALIAS_BOMB, *(v for k, v in DEEP.items() if k.startswith("yaml"))):
        _error, elapsed, peak = measured(text)
        assert elapsed < 1.0 and peak < 100 * 1024 * 1024
