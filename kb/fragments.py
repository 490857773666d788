"""Rendered page parts, cached under keys that name every version they depend on.

The expensive part of a runbook page, a decision tree or a search is rendering imported
text that rarely changes, and many engineers open the same runbook during one incident. So
those parts are rendered once without the request (nothing in them depends on who looks)
and cached under a key naming what they were made from:

- the knowledge base version: the newest ``Runbook.updated_at``, since every change to any
  runbook's text saves that runbook, and runbooks link to and title one another;
- ``Runbook.learned_at`` for parts that show learned rankings (triage sets it whenever a
  finished session changes them);
- for the leads' history table (triage.history), the newest session, step and outcome;
- the request's own choices (tree path, search words, filters, page);
- for whole pages (``render_shared_page``), the reader's roles, which decide the links.

A change makes new keys and old entries simply age out: there are no invalidation messages,
so each process keeps its own copies in memory (the "local" cache) and reads them without a
network round trip. The timeout bounds what the keys leave out: learned evidence
decaying with time (a half-life of months) and edits made directly in the Django admin.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kb.permissions import user_roles

FRAGMENT_SECONDS = 300
T = TypeVar("T")


def fragment_key(name: str, *parts: object) -> str:
    # Hashed: search words are user input, and cache keys must be short and plain.
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:40]
    return f"fragment:{name}:{digest}"


def cached(key: str, render: Callable[[], T]) -> T:
    local = caches["local"]
    value = local.get(key)
    if value is None:
        value = render()
        local.set(key, value, FRAGMENT_SECONDS)
    return value


def cached_html(key: str, render: Callable[[], str]) -> SafeString:
    # Rendered by our own templates, which escape and sanitise everything imported.
    return mark_safe(cached(key, render))  # noqa: S308


# Per process and random, so no imported text can contain (or forge) them.
_HOLE = f"fg{secrets.token_hex(12)}"
CSRF_HOLE, NAME_HOLE, TOKEN_HOLE = f"{_HOLE}csrf", f"{_HOLE}name", f"{_HOLE}token"


def render_shared_page(
    request: HttpRequest, template: str, key: str, context: Callable[[], dict]
) -> HttpResponse:
    """A whole page that is the same for everyone with the reader's roles, rendered once per
    key and role set; the reader's own values (CSRF token, name, a fresh one-time form
    token) are filled in per request.

    Rendered without the request, so nothing else about the reader can reach the cache; a
    request with flash messages to show is rendered normally.
    """
    if len(get_messages(request)):
        return render(request, template, context())
    user = request.user
    roles = user_roles(user)
    audience = (tuple(sorted(roles)), user.is_staff)

    def render_shell() -> str:
        reader = {
            "user": user,
            "roles": roles,
            "csrf_token": CSRF_HOLE,
            "reader_name": NAME_HOLE,
            "form_token": TOKEN_HOLE,
        }
        return render_to_string(template, {**context(), **reader})

    shell = cached(fragment_key("page", key, audience), render_shell)
    html = (
        shell.replace(CSRF_HOLE, get_token(request))
        .replace(NAME_HOLE, escape(user.get_username()))
        .replace(TOKEN_HOLE, str(uuid.uuid4()))
    )
    return HttpResponse(html)
