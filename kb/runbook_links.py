"""Links between runbooks as authors write them → runbook slugs. Pure: no ORM.

Understood (DESIGN.md §4):

* relative links to ``.md`` / ``.markdown`` / ``.html`` files, to pages without an
  extension (as wikis write them) and to folders (``dir/``, its ``index.md`` or
  ``README.md``), with ``#anchor`` and ``?query`` ignored; ``/path`` is relative to the
  collection's root;
* full URLs into the collection's own published site, given as ``site_urls`` (an import
  option): ``https://runbooks.example.com/storage/lag.html`` → ``storage/lag``;
* Hugo ``{{< ref "x.md" >}}`` / ``{{< relref … >}}`` shortcodes as link targets;
* wiki-links ``[[target]]``, ``[[target|alias]]``, ``[[target#heading|alias]]``; a target
  without a ``/`` is a short link, resolved later by unique last segment (as Obsidian does)
  against the runbooks that exist; ``[[_TOC_]]`` is GitLab's table-of-contents marker.

Every scanner here is a left-to-right pass with ``str.find``: linear in the text.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote

from kb.runbook_checks import slug_segment

PAGE_SUFFIXES = (".md", ".markdown", ".html", ".htm")
INDEX_STEMS = ("index", "_index", "readme")
TOC_MARKERS = frozenset({"_toc_", "toc"})


@dataclass(frozen=True)
class LinkTarget:
    """A runbook a link points at: ``slug``, or ``problem`` when it cannot be one."""

    slug: str = ""
    problem: str = ""


def normalise_slug(value: str) -> str:
    """``" Cloud/Blue Green/ "`` → ``"cloud/blue-green"``: each segment slugified."""
    return "/".join(slug_segment(part) for part in value.strip().strip("/").split("/") if part)


def _has_scheme(target: str) -> bool:
    head = target.split("/", 1)[0]
    return ":" in head and head[0].isalpha()


def _path_slug(path: str) -> str:
    stem = path
    lower = stem.lower()
    for suffix in PAGE_SUFFIXES:
        if lower.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    parts = [p for p in stem.split("/") if p]
    if len(parts) > 1 and parts[-1].lower() in INDEX_STEMS:
        parts = parts[:-1]
    return normalise_slug("/".join(parts))


def resolve_href(href: str, base_slug: str, site_urls: tuple[str, ...] = ()) -> LinkTarget | None:
    """A Markdown link target → the runbook it points at, or None when it is not a runbook
    link (another site, an image, a file that is not a page, an anchor on this page).

    ``base_slug`` is the linking runbook's slug (relative links are relative to its folder).
    """
    target = href.strip().strip("<>").strip()
    if not target or target.startswith("#"):
        return None
    rooted = False
    for site in site_urls:
        site = site.rstrip("/") + "/"
        if target.lower().startswith(site.lower()):
            target, rooted = target[len(site) :], True
            break
    else:
        if _has_scheme(target) or target.startswith("//"):
            return None
    for stop in ("#", "?"):
        if stop in target:
            target = target[: target.index(stop)]
    target = unquote(target)
    if not target:
        return None
    is_dir = target.endswith("/")
    lower = target.lower()
    last = lower.rstrip("/").rsplit("/", 1)[-1]
    # Wikis (GitLab, Obsidian) link pages without an extension; a name with another
    # extension is an image, a config or a script, not a runbook.
    if not (is_dir or rooted or lower.endswith(PAGE_SUFFIXES) or "." not in last):
        return None
    if target.startswith("/"):
        target, rooted = target.lstrip("/"), True
    base_dir = "" if rooted else posixpath.dirname(base_slug)
    joined = posixpath.normpath(posixpath.join(base_dir, target)) if target else base_dir
    if joined == "." or not joined:
        return LinkTarget(problem=f"link {href!r} points at the collection's root, not a runbook")
    if joined.startswith(".."):
        return LinkTarget(problem=f"link {href!r} leads outside the collection")
    slug = _path_slug(joined)
    if not slug:
        return LinkTarget(problem=f"link {href!r} does not name a runbook")
    return LinkTarget(slug=slug)


@dataclass(frozen=True)
class WikiLink:
    start: int  # offsets in the scanned text
    end: int
    target: str  # as written, before the "|" or "#"
    alias: str


def wiki_links(text: str) -> list[WikiLink]:
    """Every ``[[…]]`` in ``text`` (``\\|`` read as ``|``), left to right, in linear time."""
    found: list[WikiLink] = []
    at = 0
    while True:
        start = text.find("[[", at)
        if start == -1:
            return found
        end = text.find("]]", start + 2)
        if end == -1:
            return found
        inner = text[start + 2 : end]
        if "\n" in inner or "[[" in inner:
            at = start + 1 + inner.rfind("[[") + 1 if "[[" in inner else end + 2
            continue
        inner = inner.replace("\\|", "|")
        target, _, alias = inner.partition("|")
        target = target.partition("#")[0].strip()
        found.append(WikiLink(start, end + 2, target, alias.strip()))
        at = end + 2


def wiki_slug(target: str) -> str:
    """A wiki-link target → a slug (may be a short link without a ``/``), "" for none."""
    if target.strip().lower() in TOC_MARKERS:
        return ""
    return _path_slug(target.strip())


def hugo_refs(text: str) -> list[str]:
    """Targets of Hugo ``{{< ref "…" >}}`` / ``{{< relref "…" >}}`` shortcodes."""
    found = []
    at = 0
    while True:
        start = text.find("{{<", at)
        if start == -1:
            return found
        end = text.find(">}}", start)
        if end == -1:
            return found
        words = text[start + 3 : end].split()
        if len(words) >= 2 and words[0] in ("ref", "relref"):
            found.append(words[1].strip("\"'"))
        at = end + 3


def bare_slug(text: str) -> str:
    """``cloud/kubernetes`` or `` `cloud/kubernetes` `` written alone → its slug, else ""."""
    word = text.strip().strip("`").strip().rstrip(".,;:")
    if not word or any(ch.isspace() for ch in word) or _has_scheme(word):
        return ""
    if word.startswith(("./", "../")) or word.lower().endswith(PAGE_SUFFIXES):
        return ""
    allowed = all(ch.isalnum() or ch in "-_/" for ch in word)
    if not allowed or not word[0].isalnum() or "//" in word or word.endswith("/"):
        return ""
    return normalise_slug(word)
