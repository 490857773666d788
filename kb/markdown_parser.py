"""The one configured Markdown parser, shared by the renderer and the runbook reader.

``markdown_parser()`` returns a single cached ``markdown_it.MarkdownIt`` that understands
what runbooks written for GitHub, GitLab and MkDocs use (DESIGN.md §1, §4):

* CommonMark 0.31.2 (markdown-it-py's ``commonmark`` preset), raw HTML *tokenised* (the
  ``html`` option is on: ``html_block`` / ``html_inline`` tokens; what is shown of them is
  the renderer's policy, see ``kb.rendering``);
* GFM tables, strikethrough (``~x~`` and ``~~x~~``), task lists and autolinks;
* footnotes (``[^1]``), definition lists, heading ids;
* admonitions in three spellings, all turned into the same tokens: MkDocs ``!!! type
  "Title"`` (and the collapsible ``???`` / ``???+``), ``:::type`` containers for the types in
  ``CONTAINER_TYPES``, and GitHub alerts ``> [!NOTE]`` / ``[!TIP]`` / ``[!IMPORTANT]`` /
  ``[!WARNING]`` / ``[!CAUTION]``.

The instance is shared: treat it as read-only (no ``.use()``, ``.enable()`` or option
changes after it is built). ``MarkdownIt.parse`` keeps all its state in the call, so one
instance serves every thread.

Token stream (``markdown_parser().parse(text)``), as the reader relies on it
------------------------------------------------------------------------------
Block tokens are flat, with ``nesting`` 1 (open), -1 (close) or 0 (self-contained) and
``level`` the depth. Every block token that opens a construct carries ``.map`` =
``[start_line, end_line)``, 0-based lines of the text passed in (``*_close`` tokens carry
none). Kinds:

* ``heading_open`` (``tag`` "h1".."h6", ``markup`` "#".."######" or "=" / "-" for setext,
  ``attrs["id"]`` the slug — GitHub's rule: lowercase, punctuation dropped, spaces to "-",
  "-1", "-2"… appended to repeats; set once inline parsing has run; absent when the
  heading has no word characters), ``paragraph_open`` (``hidden`` in a tight list),
  ``blockquote_open``, ``hr``, ``bullet_list_open`` / ``ordered_list_open``
  (``attrs["start"]`` when not 1), ``list_item_open`` (``info`` the ordinal as written;
  ``meta == {"checked": bool}`` for a task item ``- [ ]`` / ``- [x]``, whose "[ ] " is
  then not part of the item's text), ``table_open`` … ``thead_open``,
  ``tbody_open``, ``tr_open``, ``th_open`` / ``td_open`` (``attrs["style"]`` =
  "text-align:left|center|right" when aligned), ``dl_open`` / ``dt_open`` / ``dd_open``.
* ``fence`` (``info`` the info string, ``content`` the code; an unclosed fence runs to the
  end of its container), ``code_block`` (indented code), ``html_block`` (``content`` the
  raw lines, untrusted). Their ``.map`` spans the fence lines too.
* ``inline``: the text of a paragraph, heading, table cell, title or term; ``content`` is
  the source text, ``children`` the inline tokens below.
* ``admonition_open`` / ``admonition_close`` (tag "div"), whatever the spelling:
  ``meta["tag"]`` the lowercase type ("warning"), ``markup`` the spelling ("!!!", "???",
  "???+", ">" for a GitHub alert, ":::"…), ``content`` the title ("" when none),
  ``attrs["class"]`` "admonition <type>…". When there is a title it follows as
  ``admonition_title_open``, ``inline``, ``admonition_title_close`` (mapped to the marker
  line, except a GitHub alert's); the body's blocks come next. An admonition's ``.map``
  covers its marker line and body.
* ``footnote_block_open`` … ``footnote_open`` (``meta["id"]``, ``meta["label"]``) …
  ``footnote_anchor`` … ``footnote_close`` … ``footnote_block_close``: footnote bodies,
  moved to the end of the stream; their source lines are not recorded.

Inline tokens (``children``; no ``.map``): ``text``, ``softbreak``, ``hardbreak``,
``code_inline``, ``em_open`` / ``strong_open`` / ``s_open`` and their closes,
``link_open`` (``attrs["href"]`` normalised; ``markup`` "autolink" and ``info`` "auto" for
``<https://…>`` and bare GFM autolinks), ``link_close``, ``image`` (``attrs["src"]``, alt
text in ``children``), ``html_inline`` (``content`` one raw tag, untrusted),
``footnote_ref`` (``meta["id"]``, ``meta["label"]``). Backslash escapes and entities are
folded into ``text``.

Limits: nesting deeper than ``MAX_NESTING`` is not parsed further (markdown-it's own cap,
so no input can recurse without bound); parsing is linear in the input. The GFM autolink
rules are written here rather than taken from mdit-py-plugins' ``gfm_autolink`` or
linkify-it-py, because both are quadratic or worse on hostile text (measured: 8.5 s for
40 KB of ``a:`` with the plugin; no answer within 30 s for 200 KB of ``http://a/(``
through linkify-it-py); the rules below scan each run of domain characters once and
consume the link they scan. markdown-it scans a link label from every "[" (bounded by
``MAX_NESTING``); where no "]" follows, the link and image rules now answer at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.image import image as image_rule
from markdown_it.rules_inline.link import link as link_rule
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

__all__ = ["CONTAINER_TYPES", "MAX_NESTING", "heading_slug", "markdown_parser"]

# markdown-it's CommonMark cap: a list level costs two (list + item), so 9 nested lists.
MAX_NESTING = 20

# The ``:::type`` containers understood (Docusaurus / VitePress / markdown-it-container).
CONTAINER_TYPES = ("note", "tip", "info", "warning", "caution", "danger", "important")

# A DNS name is at most 253 characters: a longer run is no domain.
MAX_DOMAIN_CHARS = 253


@cache
def markdown_parser() -> MarkdownIt:
    """The shared parser (built once per process). Read-only: see the module docstring."""
    return build_markdown_parser()


def build_markdown_parser() -> MarkdownIt:
    """A new parser configured as ``markdown_parser()``, for a caller that must change it
    (the runbook reader turns inline parsing off and does it on demand)."""
    md = MarkdownIt(
        "commonmark",
        {
            "html": True,
            "maxNesting": MAX_NESTING,
            "linkify": False,  # our own GFM autolink rules below, not linkify-it-py
            "typographer": False,
            # markdown-it-py >= 4.1 built-ins: task items marked on ``list_item_open.meta``
            # while the block is parsed (not patched into inline HTML afterwards, as
            # mdit_py_plugins.tasklists does), GitHub alerts, GitHub's single-tilde ~x~.
            "tasklists": True,
            "alerts": True,
            "strikethrough_single_tilde": True,
        },
    )
    if not hasattr(md.inline, "add_terminator_char"):
        raise RuntimeError("kb.markdown_parser needs markdown-it-py >= 4.1 (task lists, alerts)")
    md.enable(["table", "strikethrough"])
    md.use(admon_plugin)
    for name in CONTAINER_TYPES:
        md.use(container_plugin, name, validate=_container_validator(name))
    md.use(deflist_plugin)
    # ^[inline] footnotes are not GFM: keep "^[" as the text GitHub shows.
    md.use(footnote_plugin, inline=False)
    _gfm_autolink_plugin(md)
    md.inline.ruler.at("link", _needs_closing_bracket(link_rule))
    md.inline.ruler.at("image", _needs_closing_bracket(image_rule))
    # Before "inline": the titles the unified admonitions get are parsed with the rest.
    md.core.ruler.after("block", "admonition_unify", _unify_admonitions)
    md.core.ruler.after("inline", "heading_ids", _heading_ids)
    return md


InlineRule = Callable[[StateInline, bool], bool]


def _needs_closing_bracket(rule: InlineRule) -> InlineRule:
    """``rule`` (link or image), failing at once where no "]" follows.

    markdown-it looks for a label's "]" from every "[", through up to MAX_NESTING nested
    labels: linear, but ~20 steps a "[" (2 s for 200 KB of "["). With no "]" left in the
    text no label can close, and the last "]" is found once per text (cached by
    markdown-it for its HTML rule).
    """

    def without_label_end_fails_fast(state: StateInline, silent: bool) -> bool:
        if state.html_terminator_last("]") < state.pos:
            return False
        return rule(state, silent)

    return without_label_end_fails_fast


# --------------------------------------------------------------------------- admonitions


def _container_word(params: str) -> str:
    """The type word of a container's info: ``"warning"`` for ``"Warning[Disk full]"``."""
    words = params.split(None, 1)
    return words[0].partition("[")[0].lower() if words else ""


def _container_title(params: str) -> str:
    """``"note Title"`` or ``"note[Title]"`` → ``"Title"``; ``""`` when none is given."""
    head, _, rest = params.strip().partition(" ")
    _, bracket, in_brackets = head.partition("[")
    if bracket:
        return (in_brackets.removesuffix("]") + " " + rest).strip()
    return rest.strip()


def _container_validator(name: str) -> Callable[[str, str], bool]:
    def validate(params: str, markup: str) -> bool:
        return _container_word(params) == name

    return validate


def _title_tokens(title: str, kind: str, markup: str, line_map: list[int] | None) -> list[Token]:
    """The three tokens of an admonition title, in admon_plugin's shape."""
    line = [line_map[0], line_map[0] + 1] if line_map else None
    open_ = Token("admonition_title_open", "p", 1, attrs={"class": "admonition-title"})
    open_.markup, open_.map, open_.block = f"{markup} {kind}", line, True
    inline = Token("inline", "", 0, content=title, children=[])
    inline.map = line
    close = Token("admonition_title_close", "p", -1)
    close.block = True
    return [open_, inline, close]


def _unify_admonitions(state: StateCore) -> None:
    """Give GitHub alerts and ``:::type`` containers admon_plugin's token shape.

    markdown-it-py emits ``alert_open`` … ``alert_title_open`` … ``alert_close`` for
    ``> [!WARNING]``, and container_plugin ``container_warning_open`` … ``_close`` (with no
    title). One shape means the renderer and the reader handle one token kind. Levels are
    unchanged: a title is inserted at the level a first child would have.
    """
    tokens = state.tokens
    if not any(t.type.startswith(("alert_", "container_")) for t in tokens):
        return
    out: list[Token] = []
    for token in tokens:
        kind = token.type
        if kind == "alert_open":
            tag = token.info.lower()
            token.type = "admonition_open"
            token.attrs = {"class": f"admonition {tag}"}
            token.meta = {"tag": tag}
            token.content = tag.title()
        elif kind in ("alert_title_open", "alert_title_close"):
            token.type = kind.replace("alert_", "admonition_")
            if token.nesting == 1:
                token.attrs = {"class": "admonition-title"}
        elif kind == "alert_close":
            token.type = "admonition_close"
        elif kind.startswith("container_") and kind.endswith("_open"):
            tag = kind.removeprefix("container_").removesuffix("_open")
            title = _container_title(token.info) or tag.title()
            token.type = "admonition_open"
            token.attrs = {"class": f"admonition {tag}"}
            token.meta = {"tag": tag}
            token.content = title
            out.append(token)
            titles = _title_tokens(title, tag, token.markup, token.map)
            for child in titles:
                child.level = token.level + 1
            titles[1].level = token.level + 2
            out.extend(titles)
            continue
        elif kind.startswith("container_") and kind.endswith("_close"):
            token.type = "admonition_close"
        out.append(token)
    state.tokens = out


# --------------------------------------------------------------------------- heading ids

_NOT_SLUG = re.compile(r"[^\w\- ]")  # one character class: linear


def heading_slug(title: str) -> str:
    """GitHub's anchor rule: lowercase, drop punctuation, spaces become hyphens."""
    return _NOT_SLUG.sub("", title.strip().lower()).replace(" ", "-")


def _heading_ids(state: StateCore) -> None:
    """Set ``id`` on every heading: its slug, made unique with "-1", "-2"… like GitHub.

    Not mdit_py_plugins.anchors: its de-duplication counts up from 1 for every repeat, so
    N headings with the same title cost N² (measured: 80 KB of "# a" lines took 26 s).
    Here each base remembers its next suffix, so every candidate is tried at most once.
    """
    tokens = state.tokens
    used: set[str] = set()
    next_suffix: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[index + 1]
        title = "".join(
            child.content
            for child in inline.children or ()
            if child.type in ("text", "code_inline")
        )
        slug = heading_slug(title)
        if not slug:
            continue
        if slug in used:
            n = next_suffix.get(slug, 1)
            while f"{slug}-{n}" in used:
                n += 1
            next_suffix[slug] = n + 1
            slug = f"{slug}-{n}"
        used.add(slug)
        token.attrSet("id", slug)


# --------------------------------------------------------------------------- GFM autolinks
# GFM 0.29 "Autolinks (extension)", as cmark-gfm implements it: www. links, http(s)/ftp
# links, e-mail addresses; URLs only at a line start, after whitespace or after * _ ~ (.

_AUTOLINK_AFTER = frozenset(" \t\n\r\f\v*_~(")
_SPACE = frozenset(" \t\n\r\f\v")
_TRAILING = frozenset("?!.,:*_~'\"")
_URL_SCHEMES = ("https", "http", "ftp")


def _is_host_char(ch: str) -> bool:
    """cmark-gfm's is_valid_hostchar: no space, no punctuation (ASCII or Unicode P*)."""
    if ch.isascii():
        return ch.isalnum()
    return not ch.isspace() and not unicodedata.category(ch).startswith("P")


@dataclass(frozen=True)
class _DomainRun:
    """A run of domain characters: host characters, "_", "-" and "." (cmark-gfm's
    check_domain), scanned once per inline text and reused by every start inside it."""

    start: int
    end: int  # the first character after the run
    limit: int  # the end of the text it was scanned in
    last_period: int  # the last "." counted, -1 if none
    underscore: int  # the last "_" in the run's final two segments, -1 if none


_RUN_ATTR = "_fieldguide_domain_run"  # the last _DomainRun, kept on the StateInline


def _domain_run(state: StateInline, start: int, end: int) -> _DomainRun:
    """The run of domain characters at ``start``, from the cache when ``start`` is inside
    the last run scanned (the rules only move forward, so each character is scanned once
    however many "www." or "://" a run holds)."""
    run: _DomainRun | None = getattr(state, _RUN_ATTR, None)
    if run is not None and run.limit == end and run.start <= start < run.end:
        return run
    src = state.src
    last_period = prev_period = last_underscore = -1
    i = start
    while i < end:
        ch = src[i]
        if ch == "_":
            last_underscore = i
        elif ch == ".":
            if i + 1 >= end:  # cmark-gfm never looks at the last character of the text
                break
            prev_period, last_period = last_period, i
        elif ch != "-" and not _is_host_char(ch):
            break
        i += 1
    underscore = last_underscore if last_underscore > prev_period else -1
    run = _DomainRun(start, i, end, last_period, underscore)
    setattr(state, _RUN_ATTR, run)
    return run


def _domain_end(state: StateInline, start: int, end: int, *, need_period: bool) -> int:
    """End of the valid domain at ``src[start:]``, or -1 (GFM's "valid domain").

    Segments of host characters, "_" and "-", separated by "."; no "_" in the last two
    segments; at least one "." when ``need_period``. Longer than MAX_DOMAIN_CHARS is no
    domain. A domain from ``start`` ends where its run ends, and its last two segments'
    "_" are the run's at or after ``start``: so the cached run answers for any start.
    """
    run = _domain_run(state, start, end)
    if run.end == start or run.end - start > MAX_DOMAIN_CHARS or run.underscore >= start:
        return -1
    if need_period and run.last_period < start:
        return -1
    return run.end


def _trim_link_end(src: str, start: int, end: int) -> int:
    """cmark-gfm's autolink_delim: drop trailing punctuation, unmatched ")", "&entity;".

    Parentheses are counted once and updated as ")" are dropped, so this is linear.
    """
    opening = src.count("(", start, end)
    closing = src.count(")", start, end)
    while end > start:
        ch = src[end - 1]
        if ch in _TRAILING:
            end -= 1
        elif ch == ";":
            j = end - 2
            while j > start and src[j].isascii() and src[j].isalpha():
                j -= 1
            end = j if j < end - 2 and src[j] == "&" else end - 1
        elif ch == ")" and closing > opening:
            closing -= 1
            end -= 1
        else:
            break
    return end


def _path_end(src: str, start: int, end: int) -> int:
    """After a domain: any run of non-space characters other than "<"."""
    i = start
    while i < end and src[i] not in _SPACE and src[i] != "<":
        i += 1
    return i


def _char_before(state: StateInline, start: int) -> str:
    """The character before ``src[start]`` ("\\n" at the start of the inline text)."""
    return state.src[start - 1] if start > 0 else "\n"


def _push_autolink(state: StateInline, back: int, end: int, href: str) -> bool:
    """Emit a link over ``src[pos - back:end]``, ``back`` characters taken from pending."""
    full_href = state.md.normalizeLink(href)
    if not state.md.validateLink(full_href):
        return False
    if back:
        state.pending = state.pending[:-back]
    label = state.src[state.pos - back : end]
    token = state.push("link_open", "a", 1)
    token.attrs = {"href": full_href}
    token.markup, token.info = "autolink", "auto"
    token = state.push("text", "", 0)
    token.content = state.md.normalizeLinkText(label)
    token = state.push("link_close", "a", -1)
    token.markup, token.info = "autolink", "auto"
    state.pos = end
    return True


def _autolink_www(state: StateInline, silent: bool) -> bool:
    """``www.example.com/path`` → a link to ``http://www.example.com/path``."""
    pos, src, end = state.pos, state.src, state.posMax
    # Not while skipping ahead (link labels): markdown-it calls rules with silent=True
    # there, and a label's text must stay text.
    if silent or state.linkLevel > 0 or not src.startswith("www.", pos):
        return False
    if _char_before(state, pos) not in _AUTOLINK_AFTER:
        return False
    domain_end = _domain_end(state, pos, end, need_period=True)
    if domain_end <= pos + 4:
        return False
    link_end = _trim_link_end(src, pos, _path_end(src, domain_end, end))
    if link_end <= pos + 4:
        return False
    return _push_autolink(state, 0, link_end, "http://" + src[pos:link_end])


def _autolink_url(state: StateInline, silent: bool) -> bool:
    """``http://``, ``https://`` and ``ftp://`` links, found at their ":"."""
    pos, src, end = state.pos, state.src, state.posMax
    if silent or state.linkLevel > 0 or not src.startswith("://", pos):
        return False
    # The scheme was collected as pending text just before the ":" (pending is always
    # the source text right before pos), so look it up without scanning pending.
    pending = state.pending
    scheme = next((s for s in _URL_SCHEMES if pending.endswith(s)), None)
    if scheme is None or _char_before(state, pos - len(scheme)) not in _AUTOLINK_AFTER:
        return False
    domain_end = _domain_end(state, pos + 3, end, need_period=False)
    if domain_end < 0:
        return False
    link_end = _trim_link_end(src, pos + 3, _path_end(src, domain_end, end))
    if link_end <= pos + 3:
        return False
    start = pos - len(scheme)
    return _push_autolink(state, len(scheme), link_end, src[start:link_end])


def _is_email_local(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ".+-_")


def _email_end(text: str, at: int) -> int:
    """End of the e-mail domain after ``text[at] == "@"``, or -1.

    Alphanumerics, "-" and "_", separated by "." (a "." counts only when an alphanumeric
    follows, so a final "." is left out); at least one "."; the last character a letter.
    """
    i, periods, size = at + 1, 0, len(text)
    limit = min(size, at + 2 + MAX_DOMAIN_CHARS)
    while i < limit:
        ch = text[i]
        if ch.isascii() and (ch.isalnum() or ch in "-_"):
            pass
        elif ch == "." and i + 1 < size and text[i + 1].isascii() and text[i + 1].isalnum():
            periods += 1
        else:
            break
        i += 1
    if i - at - 1 > MAX_DOMAIN_CHARS or not periods or not text[i - 1].isalpha():
        return -1
    return i


def _split_emails(md: MarkdownIt, token: Token) -> list[Token]:
    """A text token, with every e-mail address in it made a ``mailto:`` link.

    The local part is the run of [A-Za-z0-9.+_-] before an "@" (not right after a "/": that
    is a URL path). Looking back stops at the previous "@" or link, so each character is
    looked at a bounded number of times.
    """
    text, level = token.content, token.level
    out: list[Token] = []
    done = search = 0  # text[:done] is emitted; the next "@" is looked for from search
    while (at := text.find("@", search)) >= 0:
        search = at + 1
        start = at
        while start > done and _is_email_local(text[start - 1]):
            start -= 1
        if start == at or (start > 0 and text[start - 1] == "/"):
            continue
        end = _email_end(text, at)
        href = md.normalizeLink("mailto:" + text[start:end]) if end > 0 else ""
        if not href or not md.validateLink(href):
            continue
        if start > done:
            out.append(Token("text", "", 0, content=text[done:start], level=level))
        link_open = Token("link_open", "a", 1, attrs={"href": href}, level=level)
        link_open.markup, link_open.info = "autolink", "auto"
        label = md.normalizeLinkText(text[start:end])
        link_close = Token("link_close", "a", -1, level=level)
        link_close.markup, link_close.info = "autolink", "auto"
        out += [link_open, Token("text", "", 0, content=label, level=level + 1), link_close]
        done = search = end
    if not out:
        return [token]
    if done < len(text):
        out.append(Token("text", "", 0, content=text[done:], level=level))
    return out


def _autolink_emails(state: StateCore) -> None:
    """GFM e-mail autolinks, found in the text tokens once inline parsing is done.

    A core rule (cmark-gfm also finds them after parsing inlines): the local part may hold
    "_", which the inline parser has split off as a possible emphasis delimiter by the time
    an inline rule would see the "@". Text inside links is left alone.
    """
    for block in state.tokens:
        if block.type != "inline" or not block.children or "@" not in block.content:
            continue
        out: list[Token] = []
        depth = 0
        for child in block.children:
            if child.type == "link_open":
                depth += 1
            elif child.type == "link_close":
                depth -= 1
            elif child.type == "text" and not depth and "@" in child.content:
                out += _split_emails(state.md, child)
                continue
            out.append(child)
        block.children = out


def _gfm_autolink_plugin(md: MarkdownIt) -> None:
    # ":" already stops the text rule; "w" is added so "www." can be seen.
    md.inline.add_terminator_char("w")
    md.inline.ruler.push("gfm_autolink_www", _autolink_www)
    md.inline.ruler.push("gfm_autolink_url", _autolink_url)
    # Before text_join, as markdown-it's linkify: escaped text ("\\@") is still apart.
    md.core.ruler.before("text_join", "gfm_autolink_email", _autolink_emails)
