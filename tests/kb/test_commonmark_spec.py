"""Conformance: the CommonMark 0.31.2 and GFM 0.29 spec examples through the real renderer.

Every example without raw HTML (decided on the shared parser's tokens: no ``html_block``
or ``html_inline``, whose display is the project's policy, not CommonMark's) goes through
``kb.rendering.markdown_to_html`` — sanitiser included — and is compared with the spec's
HTML after normalising what carries no meaning: whitespace between block tags, attribute
order, entity and self-closing forms, the ``rel`` nh3 adds to links, heading ids and the
``md-`` id prefix of same-page links.

Examples that differ on purpose are listed below by number, each with its reason, and the
test checks the list is exactly the set that differs, so it cannot go stale either way.
Fixtures: ``../shared/fixtures/markdown-spec`` (see its README; never edited).
"""

from __future__ import annotations

import json
import re
from html import escape
from html.parser import HTMLParser

import pytest

from kb.markdown_parser import markdown_parser
from kb.rendering import markdown_to_html
from tests.conftest import SHARED_DIR
from tests.kb.test_rendering import assert_sanitised

SPEC_DIR = SHARED_DIR / "fixtures" / "markdown-spec"
MIN_PASS_RATE = 0.99

IMAGE = "image: never loaded (CSP); alt text shown, a link when on the web"
IMAGE_IN_LINK = "image inside link text: shown as its alt text, no link inside the link"
SCHEME = "URL scheme outside the allowlist: nh3 drops the href"
GFM_AUTOLINK = "GFM autolinks (DESIGN §1): a bare URL / address CommonMark leaves as text"

COMMONMARK_DIFFERENCES = {
    519: IMAGE_IN_LINK,
    522: IMAGE_IN_LINK,
    533: IMAGE_IN_LINK,
    **dict.fromkeys([574, 575, 576, 577, 578, 579, 580, 581, 582, 583, 584, 585], IMAGE),
    **dict.fromkeys([586, 587, 588, 589, 590, 591, 593], IMAGE),
    600: SCHEME + " (a+b+c:)",
    601: SCHEME + " (made-up-scheme:)",
    603: SCHEME + " (localhost:)",
    610: GFM_AUTOLINK + " (between '< ' and ' >')",
    613: GFM_AUTOLINK,
    614: GFM_AUTOLINK,
}
GFM_EXTENSION_SECTIONS = {
    "Tables (extension)",
    "Strikethrough (extension)",
    "Autolinks (extension)",
    # No task-list section in gfm-0.29.json: task lists are covered in test_rendering.
}
GFM_DIFFERENCES: dict[int, str] = {}

_BLOCK_TAGS = {
    "blockquote", "dd", "details", "div", "dl", "dt", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "li", "ol", "p", "pre", "summary", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class _Canonical(HTMLParser):
    """HTML → (kind, text, tag) parts in one spelling: sorted attributes, entities decoded
    and re-escaped, ``<br />`` as ``<br>``, whitespace runs collapsed outside ``<pre>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[list] = []
        self.in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = []
        for name, value in attrs:
            value = value or ""
            if (tag == "a" and name == "rel") or (tag in _HEADINGS and name == "id"):
                continue
            if name == "href" and value.startswith("#md-"):
                value = "#" + value.removeprefix("#md-")
            kept.append((name, value))
        text = "<" + tag + "".join(f' {n}="{escape(v)}"' for n, v in sorted(kept)) + ">"
        self.in_pre += tag == "pre"
        self.parts.append(["tag", text, tag])

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.in_pre -= tag == "pre"
        self.parts.append(["tag", f"</{tag}>", tag])

    def handle_data(self, data: str) -> None:
        if not self.in_pre:
            data = re.sub(r"\s+", " ", data)
        self.parts.append(["text", escape(data, quote=False), None])


def normalise(html: str) -> str:
    """One spelling for equivalent HTML; whitespace next to block tags is dropped."""
    # The box a table scrolls in on a phone is presentation, not the table.
    html = html.replace('<div class="table-scroll"><table>', "<table>")
    html = html.replace("</table></div>", "</table>")
    parser = _Canonical()
    parser.feed(html)
    parser.close()
    parts = parser.parts
    for i, part in enumerate(parts):
        if part[0] != "text":
            continue
        if i == 0 or parts[i - 1][2] in _BLOCK_TAGS:
            part[1] = part[1].lstrip()
        if i == len(parts) - 1 or parts[i + 1][2] in _BLOCK_TAGS:
            part[1] = part[1].rstrip()
    return "".join(part[1] for part in parts)


def has_raw_html(markdown: str) -> bool:
    stack = list(markdown_parser().parse(markdown))
    while stack:
        token = stack.pop()
        if token.type in ("html_block", "html_inline"):
            return True
        stack.extend(token.children or ())
    return False


def load(name: str) -> list[dict]:
    return json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))


def conformance(examples: list[dict], on_purpose: dict[int, str], spec: str) -> None:
    """Assert the differing examples are exactly ``on_purpose`` and the rest pass."""
    population = [e for e in examples if not has_raw_html(e["markdown"])]
    differing = {
        e["example"]
        for e in population
        if normalise(markdown_to_html(e["markdown"])) != normalise(e["html"])
    }
    identical = len(population) - len(differing)
    considered = len(population) - len(on_purpose)
    rate = (considered - len(differing - on_purpose.keys())) / considered
    report = (
        f"{spec}: {identical}/{len(population)} examples without raw HTML identical "
        f"({identical / len(population):.1%}); {len(differing & on_purpose.keys())} differ on "
        f"purpose; {rate:.1%} of the other {considered} pass"
    )
    print(report)
    assert sorted(differing - on_purpose.keys()) == [], f"differ unexpectedly — {report}"
    assert sorted(on_purpose.keys() - differing) == [], f"listed but now identical — {report}"
    assert rate >= MIN_PASS_RATE, report


def test_commonmark_spec_examples_conform():
    conformance(load("commonmark-0.31.2.json"), COMMONMARK_DIFFERENCES, "CommonMark 0.31.2")


def test_gfm_spec_extension_examples_conform():
    examples = [e for e in load("gfm-0.29.json") if e["section"] in GFM_EXTENSION_SECTIONS]
    assert len(examples) == 21  # 8 tables, 2 strikethrough, 11 autolinks
    conformance(examples, GFM_DIFFERENCES, "GFM 0.29 extensions")


@pytest.mark.parametrize(
    "example",
    [
        e
        for e in load("commonmark-0.31.2.json")
        if COMMONMARK_DIFFERENCES.get(e["example"]) == IMAGE
    ],
    ids=lambda e: str(e["example"]),
)
def test_commonmark_spec_images_show_alt_text_and_never_load(example):
    html = markdown_to_html(example["markdown"])
    assert "<img" not in html
    assert 'class="md-image"' in html


def test_spec_examples_raw_html_included_render_sanitised():
    # The raw-HTML examples left out above are the policy's business: all must come out
    # with allowlisted tags only, no handlers, no script URLs.
    for example in load("commonmark-0.31.2.json") + load("gfm-0.29.json"):
        assert_sanitised(markdown_to_html(example["markdown"]))
