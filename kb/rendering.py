"""Untrusted runbook Markdown → safe HTML.

Imported text is never trusted. It is parsed once by the shared parser
(``kb.markdown_parser``: CommonMark + GFM + admonitions), rendered by ``SafeRenderer``,
whose policy is:

* raw HTML: tags in ``RAW_HTML_TAGS`` (``<details>``, ``<kbd>``, ``<sub>``…) pass; anything
  else that looks like a tag (``<pod>``, ``<namespace>``, ``<script>``, ``<img …>``) is shown
  as text, escaped, never deleted, so commands keep their placeholders; comments are
  dropped;
* images are never loaded (the CSP forbids remote images): the alt text is shown, with a
  link to the image when it is on the web, or its path as text;
* admonitions become callouts (``<div class="admonition warning">``; ``???`` ones a
  ``<details>``); task items get a ☐ / ☑ mark; ids (headings, footnotes) are prefixed
  with ``ID_PREFIX`` so they cannot collide with the page's own (htmx targets), and
  same-page links ``#x`` follow them.

Then nh3 cleans the whole output with an allowlist of tags, attributes, classes and URL
schemes: the last line of defence, whatever the renderer lets through. Text is never
rendered as a template.

Rendering is pure, so results are memoised per process: pages render the same runbook text
on every request, and rendering costs far more than a dictionary look-up. Everything is
linear in the input (the one regular expression run here is markdown-it's own tag grammar,
tried only where a tag could end; see ``_raw_html``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import nh3
from markdown_it.common.html_re import close_tag, open_tag
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from kb.markdown_parser import markdown_parser

Tokens = Sequence[Token]

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "abbr": {"title"},
    "code": {"class"},  # language-*: open-ended, so not in ALLOWED_CLASSES
    "details": {"open"},
    "li": {"id"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    **{tag: {"id"} for tag in _HEADINGS},
}
# The admonition types MkDocs Material, GitHub and Docusaurus name; others get the default look.
ADMONITION_TYPES = {
    "note",
    "abstract",
    "summary",
    "info",
    "tip",
    "hint",
    "success",
    "question",
    "important",
    "warning",
    "caution",
    "attention",
    "failure",
    "danger",
    "error",
    "bug",
    "example",
    "quote",
}
ALLOWED_CLASSES = {
    "div": {"admonition", "footnotes", *ADMONITION_TYPES},
    "details": {"admonition", *ADMONITION_TYPES},
    "p": {"admonition-title"},
    "summary": {"admonition-title"},
    "span": {"md-image", "md-image-path", "md-task"},
    "sup": {"footnote-ref"},
    "a": {"footnote-backref"},
    "ul": {"contains-task-list"},
    "ol": {"footnotes-list"},
    "li": {"task-list-item", "footnote-item"},
    "hr": {"footnotes-sep"},
}
# Schemes that open a page, a mail, a call or a terminal, never run a script (ammonia's
# default list holds them all); ftp because GFM autolinks it.
ALLOWED_SCHEMES = {"http", "https", "mailto", "tel", "ssh", "irc", "ircs", "ftp"}
# Prepended to every id the Markdown makes (and to same-page links) — GitHub's user-content-.
ID_PREFIX = "md-"

# Raw HTML that passes (as written; nh3 then keeps only allowlisted attributes).
RAW_HTML_TAGS = frozenset(
    {"details", "summary", "kbd", "sub", "sup", "br", "b", "i", "em", "strong", "code"}
    | {"del", "s", "abbr", "dl", "dt", "dd"}
)

# Raw tags left open at once, at most: the HTML parser in nh3 walks the open elements for
# some tags (<details>, <dd>…), so 100k nested "<details>" cost it 46 s (measured).
MAX_OPEN_RAW_TAGS = 32
_VOID_TAGS = frozenset({"br"})
# Inline formatting only, for labels inside links and buttons.
LABEL_TAGS = {"b", "code", "del", "em", "i", "kbd", "s", "strong", "sub", "sup"}

# Room for every text field of a few hundred runbooks (a few MB per worker at most).
RENDER_CACHE_SIZE = 20_000

# Titles and table cells: inline tags only, so a raw <details> or <dl> in a title cannot
# fold or split it (its text stays, shown plainly).
INLINE_TAGS = {"a", "abbr", "b", "br", "code", "del", "em", "i", "kbd", "s", "span", "strong"}
INLINE_TAGS |= {"sub", "sup"}


def _code_classes(element: str, attribute: str, value: str) -> str | None:
    """Only ``language-*`` classes on ``code`` (from a fence's info string): the page's own
    classes (``visually-hidden``, ``button``) would let imported text hide or disguise
    part of a command."""
    if element == "code" and attribute == "class":
        return " ".join(c for c in value.split() if c.startswith("language-")) or None
    return value


def _cleaner(tags: set[str]) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        attributes={tag: names for tag, names in ALLOWED_ATTRIBUTES.items() if tag in tags},
        allowed_classes={tag: names for tag, names in ALLOWED_CLASSES.items() if tag in tags},
        attribute_filter=_code_classes,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        id_prefix=ID_PREFIX,
    )


_CLEANER = _cleaner(ALLOWED_TAGS)
_INLINE_CLEANER = _cleaner(INLINE_TAGS)
_LABEL_CLEANER = nh3.Cleaner(tags=LABEL_TAGS, attributes={})

# Per-render state, kept in markdown-it's ``env``.
_LINK_DEPTH = "_fg_link_depth"  # open links: no link inside a link
_OPEN_RAW_TAGS = "_fg_open_raw_tags"  # raw tags open: at most MAX_OPEN_RAW_TAGS
_OPEN_RAW_BY_NAME = "_fg_open_raw_by_name"  # how many of each are open
_OPEN_ADMONITIONS = "_fg_admonitions"  # collapsible or not, innermost last
_DOC_ID = "_fg_doc"  # the text's id, in its footnote ids


def sanitise_html(html: str) -> str:
    """Keep only allowlisted tags, attributes, classes and URL schemes (nh3)."""
    return _CLEANER.clean(html)


# --------------------------------------------------------------------------- raw HTML

# markdown-it's own open/close tag grammar (``html_inline`` tries it at every "<"). Its
# repeated parts cannot overlap (attributes are separated by whitespace; names, unquoted
# and quoted values each end at a character they cannot hold), so a failing attempt gives
# back each character it read at most once; and it reads past the next "<" only inside a
# quoted value. Timed on 1 MB of "<a x='" in test_rendering.
_TAG_RE = re.compile(f"(?:{open_tag}|{close_tag})")
_TAG_NAME_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def _raw_html(content: str, env: EnvType) -> tuple[str, bool]:
    """Raw HTML (an ``html_inline`` tag or an ``html_block``'s lines) under the policy.

    Returns the HTML and whether any tag passed. Allowlisted open/close tags pass as
    written, up to MAX_OPEN_RAW_TAGS open at once (``env`` counts them); comments are
    dropped; every other "<" is escaped, so the rest reads as text. Text between tags is
    left as HTML text (entities mean what they say) — it holds no "<", and nh3
    re-serialises it. A passed tag holds no "<" or ">" but its own, which is what lets
    ``_split_ampersand_runs`` tell tags from text.

    Linear: each "<" is looked at once; a tag match is only tried where a ">" still
    follows, and a comment only where a "-->" still follows (the first one found ends it).
    """
    out: list[str] = []
    passed = False
    last_gt = content.rfind(">")
    last_comment_end = content.rfind("-->")
    pos = 0
    while (lt := content.find("<", pos)) >= 0:
        out.append(content[pos:lt])
        if content.startswith(("<!-->", "<!--->"), lt):
            pos = content.index(">", lt) + 1
            continue
        if content.startswith("<!--", lt) and last_comment_end >= lt + 4:
            pos = content.index("-->", lt + 4) + 3
            continue
        match = _TAG_RE.match(content, lt) if lt < last_gt else None
        if not match:
            out.append("&lt;")
            pos = lt + 1
            continue
        tag = match.group()
        if _allow_raw_tag(tag, env):
            out.append(tag)
            passed = True
        else:
            out.append(escapeHtml(tag))
        pos = match.end()
    out.append(content[pos:])
    return "".join(out), passed


def _allow_raw_tag(tag: str, env: EnvType) -> bool:
    """Whether one raw tag (``<kbd>``, ``</kbd>``, ``<abbr title="…">``) passes."""
    name = _TAG_NAME_RE.match(tag).group(1).lower()
    if name not in RAW_HTML_TAGS or "<" in tag[1:] or ">" in tag[:-1]:
        return False
    open_by_name = env.setdefault(_OPEN_RAW_BY_NAME, {})
    if tag.startswith("</"):
        if not open_by_name.get(name):
            # Nothing of that name is open: the sanitiser would drop it, so show it.
            return False
        open_by_name[name] -= 1
        env[_OPEN_RAW_TAGS] = max(env.get(_OPEN_RAW_TAGS, 0) - 1, 0)
    elif name not in _VOID_TAGS:
        if env.get(_OPEN_RAW_TAGS, 0) >= MAX_OPEN_RAW_TAGS:
            return False
        env[_OPEN_RAW_TAGS] = env.get(_OPEN_RAW_TAGS, 0) + 1
        open_by_name[name] = open_by_name.get(name, 0) + 1
    return True


# nh3's HTML tokenizer is quadratic in the "&" of one uninterrupted run of text (measured:
# 400k "&amp;" in a paragraph, 1.6 s; 1 MB of "&" in Markdown, 9 s). A comment, which nh3
# strips, every AMPERSAND_RUN of them keeps it linear and changes nothing in the output.
AMPERSAND_RUN = 64


def _split_ampersand_runs(html: str) -> str:
    """``html`` with ``<!---->`` before every AMPERSAND_RUN-th "&" of a text run.

    Only for the renderer's own output, where every "<" opens a tag that ends at the next
    ">" (text and attribute values are escaped, raw tags checked by ``_allow_raw_tag``),
    so the comments land in text, never inside a tag.
    """
    if html.count("&") < AMPERSAND_RUN:
        return html
    out: list[str] = []
    pos = 0
    while pos < len(html):
        lt = html.find("<", pos)
        text_end = len(html) if lt < 0 else lt
        text = html[pos:text_end]
        if text.count("&") >= AMPERSAND_RUN:
            pieces = text.split("&")
            text = "<!---->&".join(
                "&".join(pieces[i : i + AMPERSAND_RUN])
                for i in range(0, len(pieces), AMPERSAND_RUN)
            )
        out.append(text)
        if lt < 0:
            break
        gt = html.find(">", lt)
        pos = len(html) if gt < 0 else gt + 1
        out.append(html[lt:pos])
    return "".join(out)


def _sanitise_rendered(html: str, cleaner: nh3.Cleaner = _CLEANER) -> str:
    html = cleaner.clean(_split_ampersand_runs(html))
    # Wide tables scroll in their own box instead of widening a phone's page. nh3's output
    # is well formed, so "<table>" here can only be a table tag.
    return html.replace("<table>", '<div class="table-scroll"><table>').replace(
        "</table>", "</table></div>"
    )


# --------------------------------------------------------------------------- renderer


def _doc_id(text: str) -> str:
    """A short id for one text, so footnote ids of two texts on one page differ."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


def _local_href(href: str) -> str:
    """Same-page links point at the prefixed ids."""
    return "#" + ID_PREFIX + href[1:] if href.startswith("#") else href


def _attr(name: str, value: object) -> str:
    return f' {name}="{escapeHtml(str(value))}"'


class SafeRenderer(RendererHTML):
    """markdown-it's HTML renderer with the policy of the module docstring.

    Per-render state lives in ``env`` (keys ``_fg_*``): the link depth (no link inside a
    link), the open admonitions (a ``???`` one is a ``<details>`` whose title is its
    ``<summary>``) and the text's id for footnotes.
    """

    # Raw HTML -------------------------------------------------------------------------

    def html_inline(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return _raw_html(tokens[idx].content, env)[0]

    def html_block(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        html, passed = _raw_html(tokens[idx].content, env)
        # A block of nothing but tag-like text (a "<namespace>" alone on a line) reads as
        # a paragraph of text, which is what it is.
        if not passed and html.strip():
            return f"<p>{html.strip()}</p>\n"
        return html

    # Links and images -----------------------------------------------------------------

    def link_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        env[_LINK_DEPTH] = env.get(_LINK_DEPTH, 0) + 1
        token = tokens[idx]
        title = token.attrGet("title")
        href = _local_href(str(token.attrGet("href") or ""))
        return f"<a{_attr('href', href)}{_attr('title', title) if title else ''}>"

    def link_close(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        env[_LINK_DEPTH] = env.get(_LINK_DEPTH, 1) - 1
        return "</a>"

    def image(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        """``🖼 alt``: a link to a web image, else the alt text and the path as text."""
        token = tokens[idx]
        alt = self.renderInlineAsText(token.children, options, env).strip()
        src = str(token.attrGet("src") or "")
        on_web = src.lower().startswith(("http://", "https://"))
        label = escapeHtml(alt or src)
        if on_web and not env.get(_LINK_DEPTH):
            body = f"<a{_attr('href', src)}>{label}</a>"
        elif on_web or not alt or src.lower().startswith("data:"):
            body = label  # inside a link, nothing to add; an embedded image has no path
        else:
            body = f'{label} <span class="md-image-path">({escapeHtml(src)})</span>'
        return f'<span class="md-image">\U0001f5bc {body}</span>'

    # Blocks ---------------------------------------------------------------------------

    def heading_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        slug = token.attrGet("id")
        return f"<{token.tag}{_attr('id', ID_PREFIX + str(slug)) if slug else ''}>"

    def s_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return "<del>"  # GFM's element for ~~struck~~ text

    def s_close(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return "</del>"

    def _cell(self, tokens: Tokens, idx: int) -> str:
        # markdown-it aligns with style="text-align:x"; nh3 allows no style, so use align.
        token = tokens[idx]
        style = str(token.attrGet("style") or "")
        align = style.removeprefix("text-align:") if style.startswith("text-align:") else ""
        return f"<{token.tag}{_attr('align', align) if align else ''}>"

    def th_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._cell(tokens, idx)

    def td_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._cell(tokens, idx)

    def list_item_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        """Task items get a ☐ / ☑ mark (text, not a form control nobody can submit)."""
        token = tokens[idx]
        html = self.renderToken(tokens, idx, options, env)
        if token.meta and "checked" in token.meta:
            mark = "\u2611" if token.meta["checked"] else "\u2610"
            html += f'<span class="md-task">{mark}</span> '
        return html

    # Admonitions ----------------------------------------------------------------------

    def admonition_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        kind = "".join(ch for ch in str(token.meta.get("tag", "")) if ch.isalnum() or ch == "-")
        collapsible = token.markup.startswith("?")
        env.setdefault(_OPEN_ADMONITIONS, []).append(collapsible)
        if collapsible:
            opened = " open" if token.markup.endswith("+") else ""
            return f'<details class="admonition {kind}"{opened}>\n'
        return f'<div class="admonition {kind}">\n'

    def admonition_close(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        stack = env.get(_OPEN_ADMONITIONS) or [False]
        return "</details>\n" if stack.pop() else "</div>\n"

    def admonition_title_open(
        self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        stack = env.get(_OPEN_ADMONITIONS) or [False]
        return f'<{"summary" if stack[-1] else "p"} class="admonition-title">'

    def admonition_title_close(
        self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        stack = env.get(_OPEN_ADMONITIONS) or [False]
        return "</summary>\n" if stack[-1] else "</p>\n"

    # Footnotes (ids carry the text's id: several texts share one page) -----------------

    def _footnote_ids(self, token: Token, env: EnvType) -> tuple[str, str, str]:
        """(number shown, the note's id, this reference's id)."""
        n = str(token.meta["id"] + 1)
        base = f"{env.get(_DOC_ID, 'x')}-{n}"
        sub = token.meta.get("subId", 0)
        return n, f"fn-{base}", f"fnref-{base}" + (f"-{sub}" if sub > 0 else "")

    def footnote_ref(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        n, note, ref = self._footnote_ids(tokens[idx], env)
        href = f"#{ID_PREFIX}{note}"
        return (
            f'<sup class="footnote-ref"><a{_attr("href", href)}{_attr("id", ref)}>[{n}]</a></sup>'
        )

    def footnote_block_open(
        self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return '<hr class="footnotes-sep">\n<div class="footnotes">\n<ol class="footnotes-list">\n'

    def footnote_block_close(
        self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return "</ol>\n</div>\n"

    def footnote_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        _, note, _ = self._footnote_ids(tokens[idx], env)
        return f'<li{_attr("id", note)} class="footnote-item">'

    def footnote_close(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return "</li>\n"

    def footnote_anchor(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        _, _, ref = self._footnote_ids(tokens[idx], env)
        # U+FE0E: show ↩ as text, not as an emoji (iOS).
        href = f"#{ID_PREFIX}{ref}"
        return f' <a{_attr("href", href)} class="footnote-backref">\u21a9\ufe0e</a>'


class LabelRenderer(SafeRenderer):
    """Inline formatting only, for text inside a link or button: no links (they would nest
    inside, and hijack, the control), images as their alt text, breaks as spaces."""

    def link_open(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return ""

    def link_close(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return ""

    def image(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return escapeHtml(self.renderInlineAsText(tokens[idx].children, options, env))

    def footnote_ref(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return ""

    def softbreak(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return " "

    def hardbreak(self, tokens: Tokens, idx: int, options: OptionsDict, env: EnvType) -> str:
        return " "


_RENDERER = SafeRenderer()
_LABEL_RENDERER = LabelRenderer()


# --------------------------------------------------------------------------- public API


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_to_html(text: str) -> str:
    """A runbook text (Markdown, any length up to the callers' 2 MB cap) → safe HTML."""
    text = text or ""
    md = markdown_parser()
    env: EnvType = {_DOC_ID: _doc_id(text)}
    tokens = md.parse(text, env)
    return _sanitise_rendered(_RENDERER.render(tokens, md.options, env))


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_label_html(text: str) -> str:
    """One line of Markdown for use inside a link or button: inline formatting only, so
    imported links cannot nest inside (and hijack) the control."""
    md = markdown_parser()
    env: EnvType = {}
    tokens = md.parseInline(text or "", env)
    html = _LABEL_RENDERER.render(tokens, md.options, env)
    return _LABEL_CLEANER.clean(_split_ampersand_runs(html)).strip()


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_inline_html(text: str) -> str:
    """One line of Markdown without the wrapping paragraph, for titles and table cells:
    inline syntax only ("1. Rollback" stays a title, not a list)."""
    md = markdown_parser()
    env: EnvType = {_DOC_ID: _doc_id(text or "")}
    tokens = md.parseInline(text or "", env)
    return _sanitise_rendered(_RENDERER.render(tokens, md.options, env), _INLINE_CLEANER).strip()


@lru_cache(maxsize=2_000)
def markdown_plain_text(text: str) -> str:
    """Markdown source → the words a reader sees, on one line: link text without its URL,
    code without fences or backticks, no emphasis or heading marks, raw HTML dropped. For
    search snippets (a runbook's best-matching section recurs across searches, hence the
    cache); the result is plain text (escape it). Linear in ``len(text)``."""
    pieces: list[str] = []
    for token in markdown_parser().parse(text):
        if token.type in ("fence", "code_block"):
            pieces.append(token.content)
        elif token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    pieces.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    pieces.append(" ")
    return " ".join(" ".join(pieces).split())
