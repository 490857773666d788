"""Untrusted runbook Markdown → safe HTML.

Imported text is never trusted: Markdown is rendered, then every tag, attribute and URL
scheme outside a short allowlist is removed by nh3. Text is never rendered as a template.

Rendering is pure, so results are memoised per process: pages render the same runbook text
on every request, and Python-Markdown costs far more than a dictionary look-up.
"""

from functools import lru_cache

import markdown
import nh3

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
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


# Room for every text field of a few hundred runbooks (a few MB per worker at most).
RENDER_CACHE_SIZE = 20_000


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_to_html(text: str) -> str:
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    return sanitise_html(html)


LABEL_TAGS = {"b", "code", "del", "em", "i", "kbd", "s", "strong", "sub", "sup"}


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_label_html(text: str) -> str:
    """One line of Markdown for use inside a link or button: inline formatting only, so
    imported links cannot nest inside (and hijack) the control."""
    html = markdown.markdown(text or "", extensions=["sane_lists"])
    return nh3.clean(html, tags=LABEL_TAGS, attributes={}).strip()


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_inline_html(text: str) -> str:
    """One line of Markdown without the wrapping paragraph, for titles and table cells."""
    html = markdown_to_html(text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html
