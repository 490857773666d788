"""Hostile text in every rendered field outside runbook sections (issue 9, security).

The corpus in ``tests/browser/xss_corpus.py`` goes, every vector through every field, into:

- a session's incident reference (the start form), step notes (the step form) and outcome
  (new cause, fix written in, notes: the finish form), through the real endpoints;
- Alertmanager alerts through the webhook: alert name and other labels (names and values),
  summary and description annotations, receiver, generator URL; alerts that open a session
  and alerts no runbook is mapped to (then also ``runbook_url``).

Then every page showing that text is checked. The first test below reads the server's HTML
(fast, and names the vector that got through); the browser tests load the same pages in
Chromium and look for dialogs, ``window.__pwned``, scripts, elements and attributes made from
the payload, and check the text is shown, literally, where it belongs.

Fields are short (an incident reference holds 120 characters), so the corpus is packed into
chunks of whole vectors: chunk i goes into every field of session i (and of alert i).

Run with ``.venv/bin/pytest tests/browser/test_hostile_fields.py -p no:xdist``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.utils.html import escape
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD
from tests.browser.xss_corpus import (
    PAYLOADS,
    VECTORS,
    chunks,
    everything,
    groups,
    joined,
    labelled,
)
from tests.conftest import SEED_SLUG

TOKEN = "xss-hook-token-5e0c2a91"
HOOK = "/hooks/alertmanager/"
SESSION_PATH = re.compile(r"/triage/(\d+)/$")
STARTS = "2026-11-26T10:00:00Z"
ENDS = "2026-11-26T10:42:00Z"
# The shortest limits: incident references hold 120 characters, the unmapped-alerts page cuts
# runbook_url at 120 and history filters at 200.
GROUPS = groups(120)
FILTER_CHUNKS = chunks(200)
HOME_SESSIONS = 10  # "My open sessions" lists the newest 10
HOME_ALERTS = 20  # "Open from alerts" lists the newest 20
# Generator URLs are shown only as http(s) links; the rest must never become a link.
HOSTILE_URLS = [
    "javascript:window.__pwned=1",
    " JaVaScRiPt:window.__pwned=1",
    "java\tscript:window.__pwned=1",
    "data:text/html,<script>window.__pwned=1</script>",
    "vbscript:window.__pwned=1",
    'https://prometheus.example/graph?g0.expr="><script>window.__pwned=1</script>',
]


# --- what a page must show ---------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """``selector`` (one visible element) shows ``text`` literally."""

    selector: str
    text: str


@dataclass(frozen=True)
class Value:
    """The form control ``selector`` holds ``value``."""

    selector: str
    value: str


Check = Callable[[str, list], None]  # check(path, [Text | Value, ...])


# --- creating the data through the real endpoints ----------------------------------------


@dataclass
class HostileSession:
    """A session whose every free-text field carries chunk ``n`` of the corpus."""

    n: int
    slug: str
    chunk: str
    pk: int = 0

    @property
    def incident_ref(self) -> str:
        return self.chunk  # 120 characters: no room for a prefix

    @property
    def note(self) -> str:
        return f"note {self.n}: {self.chunk}"

    @property
    def cause_text(self) -> str:
        return f"cause {self.n}: {self.chunk}"

    @property
    def fix_text(self) -> str:
        return f"fix {self.n}: {self.chunk}"

    @property
    def notes(self) -> str:
        return f"notes {self.n}: {self.chunk}"


def start_session(client, hostile: HostileSession) -> None:
    response = client.post(f"/triage/new/{hostile.slug}/", {"incident_ref": hostile.incident_ref})
    assert response.status_code == 302, response.status_code
    hostile.pk = int(SESSION_PATH.search(response["Location"]).group(1))
    step = {"token": uuid.uuid4(), "kind": "note", "note": hostile.note}
    response = client.post(f"/triage/{hostile.pk}/step/", step)
    assert response.status_code == 302, response.content.decode()[:2000]


def finish_session(client, hostile: HostileSession) -> None:
    outcome = {
        "token": uuid.uuid4(),
        "resolution": "escalated",
        "cause_text": hostile.cause_text,
        "fix_text": hostile.fix_text,
        "notes": hostile.notes,
    }
    response = client.post(f"/triage/{hostile.pk}/finish/", outcome)
    assert response.status_code == 302, response.content.decode()[:2000]


@dataclass
class HostileAlert:
    """An alert whose every text carries group ``n`` of the corpus."""

    n: int
    group: list[tuple[str, str]]
    mapped: bool
    pk: int = 0  # the session it opened

    @property
    def chunk(self) -> str:
        return joined(self.group)

    @property
    def alertname(self) -> str:
        return f"alert {self.n}: {self.chunk}"

    @property
    def receiver(self) -> str:
        return f"receiver {self.n}: {self.chunk}"

    @property
    def labels(self) -> dict[str, str]:
        # Every vector as a label name and as a label value.
        vectors = {f"{payload} ({vid})": labelled(vid, payload) for vid, payload in self.group}
        return {"alertname": self.alertname, **vectors}

    @property
    def summary(self) -> str:
        return f"summary {self.n}: {self.chunk}"

    @property
    def description_lines(self) -> list[str]:
        return [labelled(vid, payload) for vid, payload in self.group]

    @property
    def runbook_url(self) -> str:
        if self.mapped:
            return f"https://fieldguide.example/runbooks/{SEED_SLUG}/"
        return self.chunk  # the unmapped-alerts page shows it, cut at 120 characters

    @property
    def fingerprint(self) -> str:
        return f"{'a' if self.mapped else 'b'}{self.n:03d}0f3c9d2e7b1a"

    def delivery(self, status: str) -> dict:
        """Alertmanager's webhook body (version 4) with this one alert."""
        alert = {
            "status": status,
            "labels": self.labels,
            "annotations": {
                "summary": self.summary,
                "description": "\n".join(self.description_lines),
                "runbook_url": self.runbook_url,
            },
            "startsAt": STARTS,
            "endsAt": ENDS if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": HOSTILE_URLS[self.n % len(HOSTILE_URLS)],
            "fingerprint": self.fingerprint,
        }
        return {
            "version": "4",
            "receiver": self.receiver,
            "status": status,
            "groupKey": f"{{}}:{{alertname={self.alertname!r}}}",
            "alerts": [alert],
            "groupLabels": {"alertname": self.alertname},
            "commonLabels": self.labels,
            "commonAnnotations": {"summary": self.summary},
            "externalURL": "http://alertmanager.example:9093",
            "truncatedAlerts": 0,
        }


# --- the scenarios, shared by the server-HTML test and the browser tests -----------------


def hostile_sessions(client, check: Check) -> list[HostileSession]:
    """Sessions started, noted and finished through the real forms, every vector through
    every field; then every page that shows them checked."""
    from kb.models import Runbook
    from triage import insights

    slugs = list(Runbook.objects.order_by("slug").values_list("slug", flat=True))
    made: list[HostileSession] = []
    for first in range(0, len(GROUPS), HOME_SESSIONS):
        batch = [
            HostileSession(n, slugs[n % len(slugs)], joined(GROUPS[n]))
            for n in range(first, min(first + HOME_SESSIONS, len(GROUPS)))
        ]
        for hostile in batch:
            start_session(client, hostile)
        # Open sessions are listed on the home page, with their incident reference.
        check("/", [Text("section.open-sessions", h.incident_ref) for h in batch])
        for hostile in batch:
            finish_session(client, hostile)
        made += batch

    for h in made:
        check(
            f"/triage/{h.pk}/",
            [
                Text("p.crumbs", f"incident {h.incident_ref}"),
                Text("dl.outcome dd:nth-of-type(1)", h.cause_text),
                Text("dl.outcome dd:nth-of-type(2)", h.fix_text),
                Text("dl.outcome dd:nth-of-type(4)", h.notes),
            ],
        )
        check(
            f"/triage/{h.pk}/timeline/",
            [
                Text("p.meta", f"incident {h.incident_ref}"),
                Text("table.timeline", f"Note: {h.note}"),
                Text("main h2 + p", f"Cause: {h.cause_text}"),
                Text("main h2 + p", f"Fix: {h.fix_text}"),
            ],
        )
    check(
        "/history/?per_page=500",
        [Text("table.history", h.incident_ref) for h in made]
        + [Text("table.history", h.cause_text) for h in made],
    )
    # The lead's panel on the runbook page and the cause chart (top causes, names cut at 40).
    for runbook in Runbook.objects.filter(slug__in={h.slug for h in made}).order_by("slug"):
        names = [name for name, _n in insights.runbook_panel(runbook).cause_mix]
        assert any("(unlisted) cause" in name for name in names)
        check(f"/runbooks/{runbook.slug}/", [Text("details.lead-panel", n) for n in names])
        chart = insights.causes_over_time(runbook)
        names = [name for name in chart.headers[1:] if name != "other"]
        check(f"/insights/?runbook={runbook.slug}", [Text("#insight-causes", n) for n in names])
    # The history filters show what was typed into them.
    for chunk in FILTER_CHUNKS:
        params = {"q": chunk, "cause": chunk, "engineer": chunk, "category": chunk}
        check(
            "/history/?" + urlencode(params),
            [Value(f"form.filters input[name={name}]", chunk) for name in params],
        )
    return made


def hostile_alerts(send: Callable[[dict], dict], check: Check) -> list[HostileAlert]:
    """Alerts delivered through the webhook: some open sessions, the rest are unmapped."""
    from triage.alerts import format_matcher, unmapped_alert_rows
    from triage.models import TriageSession

    made: list[HostileAlert] = []
    for first in range(0, len(GROUPS), HOME_ALERTS):
        batch = [
            HostileAlert(n, GROUPS[n], mapped=True)
            for n in range(first, min(first + HOME_ALERTS, len(GROUPS)))
        ]
        for alert in batch:
            answer = send(alert.delivery("firing"))
            assert answer["opened"] == 1, answer
            alert.pk = answer["sessions"][0]
        check("/", [Text("section.alert-sessions", a.alertname) for a in batch])
        # Cleared before anyone started: the session closes with a note naming the alert.
        resolved = batch[0].delivery("resolved")
        resolved["alerts"] = [alert.delivery("resolved")["alerts"][0] for alert in batch]
        answer = send(resolved)
        assert answer["resolved"] == len(batch), answer
        made += batch

    for a in made:
        shows = [
            Text("section.session-alert p:first-child strong", f"Alert {a.alertname}"),
            Text("section.session-alert p:first-child", f"via {a.receiver}"),
            Text("p.alert-summary", a.summary),
            Text("dl.outcome", f"Alert {a.alertname} cleared at"),
        ]
        shows += [Text("p.alert-description", line) for line in a.description_lines]
        for name, value in a.labels.items():
            shows += [Text("details.alert-labels", name), Text("details.alert-labels", value)]
        check(f"/triage/{a.pk}/", shows)

    unmapped = [HostileAlert(n, group, mapped=False) for n, group in enumerate(GROUPS)]
    for alert in unmapped:
        answer = send(alert.delivery("firing"))
        assert answer["unmapped"] == 1, answer
    shows = []
    for a in unmapped:
        shows += [Text("table.unmapped-alerts", t) for t in (a.alertname, a.receiver, a.summary)]
        shows += [Text("table.unmapped-alerts", f"runbook_url: {a.runbook_url}")]
        shows += [Text("table.unmapped-alerts", f"{k}={v}") for k, v in a.labels.items()]
    check("/alerts/unmapped/", shows)
    # "Add a mapping" opens the admin's form with the alert name filled in.
    rows = unmapped_alert_rows()
    assert len(rows) == len(unmapped)
    for row in rows:
        matcher = format_matcher("alertname", row.alert.alertname)
        check(row.add_mapping_url, [Value("#id_matchers", matcher)])
    check(
        "/admin/triage/unmappedalert/",
        [Text("#result_list", t) for a in unmapped for t in (a.alertname, a.receiver)],
    )
    check("/admin/triage/sessionalert/", [Text("#result_list", a.alertname) for a in made])
    sources = TriageSession.objects.filter(pk__in=[a.pk for a in made])
    check(
        "/history/?per_page=500",
        [Text("table.history", s.alert_source) for s in sources],
    )
    return made


# --- users ---------------------------------------------------------------------------------


@pytest.fixture
def tokens(settings):
    settings.FIELDGUIDE_ALERTMANAGER_TOKENS = [TOKEN]


@pytest.fixture
def lead_admin(transactional_db):
    """Engineer, editor, lead and admin at once: every page is open to them."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_superuser(username="xss-lead", password=PASSWORD)
    user.groups.set([Group.objects.get_or_create(name=n)[0] for n in ("engineer", "lead")])
    return user


# --- 1. the server's HTML (no browser) -----------------------------------------------------

FORBIDDEN_TAGS = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link",
    "style", "template", "noscript", "math", "video", "audio", "source", "marquee", "portal",
    "xmp", "plaintext",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "xlink:href", "src", "srcdoc", "action", "formaction", "data", "poster"}


def squashed(value: str) -> str:
    """A URL as a browser reads its scheme: control characters and spaces dropped."""
    return re.sub(r"[\x00-\x20]", "", value).lower()


def scheme(url: str) -> str:
    found = re.match(r"([a-z][a-z0-9+.-]*):", squashed(url))
    return found.group(1) if found else ""


# Attributes whose value is only ever text: hostile text may sit there, escaped (a form
# field showing what was typed into it, say). Elsewhere it means an attribute was injected.
TEXT_ATTRIBUTES = {"value", "title", "alt", "placeholder", "aria-label"}


def harmless_attribute(tag: str, name: str, value: str) -> bool:
    """Text in a text attribute, or a link within this site or to an http(s) page (a payload
    in its query string is inert)."""
    if name in TEXT_ATTRIBUTES:
        return True
    return tag == "a" and name == "href" and scheme(value) in ("", "http", "https")


def own_script(src: str) -> bool:
    """The pages load scripts only from files of this site (no inline script)."""
    return src.startswith("/") and not src.startswith("//")


class TagScan(HTMLParser):
    """Tags in the body that a payload could have made (the pages have none of their own)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_body = False
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.in_body = self.in_body or tag == "body"
        shown = f"<{tag} {' '.join(f'{n}={v!r}' for n, v in attrs)}>"[:200]
        values = dict(attrs)
        if tag == "script" and not own_script(values.get("src") or ""):
            self.found.append(shown)
        if self.in_body and tag in FORBIDDEN_TAGS:
            self.found.append(shown)
        for name, value in attrs:
            value = value or ""
            payload = "__pwned" in value and not harmless_attribute(tag, name, value)
            script_url = name in URL_ATTRIBUTES and squashed(value).startswith(
                ("javascript:", "vbscript:", "data:")
            )
            if name.startswith("on") or payload or script_url:
                self.found.append(shown)


def server_check(client) -> Check:
    def check(path: str, shows: list) -> None:
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert response["Content-Type"].startswith("text/html"), path
        html = response.content.decode()
        # A vector with markup or quotes in it must appear only escaped. (Escaped text
        # containing "&" alone, like "&lt;script&gt;", is also what escaping "<script>" gives.)
        raw = [vid for vid, payload in VECTORS if set("<>\"'") & set(payload) and payload in html]
        assert raw == [], f"{path}: unescaped vectors {raw}"
        scan = TagScan()
        scan.feed(html)
        assert scan.found == [], f"{path}: tags made from a payload: {scan.found}"
        for item in shows:
            text = item.text if isinstance(item, Text) else item.value
            assert escape(text) in html, f"{path}: {item} is not shown (escaped)"

    return check


def test_hostile_fields_server_html_escapes_every_vector(client, samples, make_user, settings):
    settings.FIELDGUIDE_ALERTMANAGER_TOKENS = [TOKEN]
    user = make_user("xss-lead", "engineer", "lead", is_staff=True, is_superuser=True)
    client.force_login(user)
    check = server_check(client)
    made = hostile_sessions(client, check)

    def send(payload: dict) -> dict:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        body = json.dumps(payload)
        response = client.post(HOOK, body, content_type="application/json", headers=headers)
        assert response.status_code == 200, response.content
        return response.json()

    alerted = hostile_alerts(send, check)

    # The JSON pages carry the text unchanged, as JSON a browser will not sniff as HTML.
    for h in made:
        response = client.get(f"/triage/{h.pk}.json")
        assert response["Content-Type"] == "application/json"
        assert response["X-Content-Type-Options"] == "nosniff"
        data = response.json()
        assert data["incident_ref"] == h.incident_ref
        assert data["steps"][0]["note"] == h.note
        assert data["outcome"]["notes"] == h.notes
    for a in alerted:
        data = client.get(f"/triage/{a.pk}.json").json()
        assert data["alert"]["labels"] == a.labels
        assert data["alert"]["annotations"]["summary"] == a.summary
    for fmt, content_type in (("json", "application/json"), ("csv", "text/csv")):
        response = client.get(f"/history/export.{fmt}")
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        body = b"".join(response.streaming_content).decode()
        if fmt == "json":
            causes = {row["cause_text"] for row in json.loads(body)}
        else:
            causes = {row["cause_text"] for row in csv.DictReader(io.StringIO(body))}
        assert {h.cause_text for h in made} <= causes


# --- 2. in the browser ---------------------------------------------------------------------

# The browser tests ignore the content security policy (``bypass_csp``): it blocks inline
# script, so with it a failure of escaping would only show as console errors. Without it an
# escaping failure runs the payload, as it would in a browser or on a page without the policy
# (the admin has none).
#
# One round trip per page: let broken images fire (or not fire) their onerror and htmx run
# its load triggers; then report whether a payload ran, the elements, attributes and URLs a
# payload could have made (the pages carry no inline script, no inline event handler and no
# script-scheme URL of their own, as ``TagScan``), and what the given selectors show.
INSPECT = """async ({selectors, forbidden, urlAttributes, textAttributes}) => {
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  await new Promise(done => requestAnimationFrame(() => setTimeout(done, 20)));
  forbidden = new Set(forbidden);
  urlAttributes = new Set(urlAttributes);
  textAttributes = new Set(textAttributes);
  const found = [];
  const shown = el => el.outerHTML.slice(0, 200);
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName;
    if (tag === 'script' && !(el.getAttribute('src') && new URL(el.src).origin === location.origin))
      found.push('script: ' + shown(el));
    if (forbidden.has(tag) && document.body.contains(el)) found.push(tag + ': ' + shown(el));
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const scheme = a.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      const harmless = textAttributes.has(name)
        || (tag === 'a' && name === 'href' && /^https?:$/.test(el.protocol));
      if (name.startsWith('on')) found.push(`${name}: ${shown(el)}`);
      else if (a.value.includes('__pwned') && !harmless) found.push(`${name}: ${shown(el)}`);
      else if (urlAttributes.has(name) && /^(javascript|vbscript|data):/.test(scheme))
        found.push(`${name}: ${shown(el)}`);
      else if (name === 'style' && /expression\\(|javascript:/i.test(a.value))
        found.push(`style: ${shown(el)}`);
    }
  }
  const items = selectors.map(selector => {
    const all = document.querySelectorAll(selector);
    const el = all[0];
    return {
      count: all.length,
      visible: !!el && el.checkVisibility({visibilityProperty: true})
        && el.getClientRects().length > 0,
      text: el ? el.textContent : '',
      value: el && 'value' in el ? el.value : null,
    };
  });
  const pwned = typeof window.__pwned === 'undefined' ? null : String(window.__pwned);
  return {pwned, found, items};
}"""


def normalised(text: str) -> str:
    return " ".join(text.split())


def assert_inert(page: Page, page_events, where: str, selectors: list[str] = ()) -> list[dict]:
    """No dialog, no error, ``window.__pwned`` unset, nothing made from a payload; returns
    what ``selectors`` show."""
    page.mouse.move(5, 5)  # sweep the mouse over the page for hover handlers
    page.mouse.move(400, 300)
    seen = page.evaluate(
        INSPECT,
        {
            "selectors": list(selectors),
            "forbidden": sorted(FORBIDDEN_TAGS),
            "urlAttributes": sorted(URL_ATTRIBUTES),
            "textAttributes": sorted(TEXT_ATTRIBUTES),
        },
    )
    assert page_events.dialogs == [], f"{where}: a dialog opened: {page_events.dialogs}"
    assert seen["pwned"] is None, f"{where}: a payload ran"
    assert seen["found"] == [], f"{where}: made from a payload: {seen['found']}"
    assert page_events.page_errors == [], f"{where}: {page_events.page_errors}"
    assert page_events.console_errors == [], f"{where}: {page_events.console_errors}"
    return seen["items"]


def browser_check(page: Page, page_events) -> Check:
    def check(path: str, shows: list) -> None:
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response}"
        items = assert_inert(page, page_events, path, [item.selector for item in shows])
        for item, seen in zip(shows, items, strict=True):
            assert seen["count"] == 1, f"{path}: {item.selector} matches {seen['count']}"
            if isinstance(item, Value):
                held = seen["value"]
                assert held == item.value, f"{path}: {item.selector} holds {held!r}"
                continue
            assert seen["visible"], f"{path}: {item.selector} is hidden"
            shown = normalised(seen["text"])
            assert normalised(item.text) in shown, f"{path}: {item.selector} lacks {item.text!r}"

    return check


def log_in(page: Page, user) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("form #id_password")).to_have_count(0)


@pytest.mark.browser
def test_hostile_fields_typed_into_triage_forms_run_no_script(
    new_page, runbooks, lead_admin, page_events, artifacts
):
    """The whole corpus typed into the note and finish forms; each answer is swapped in by
    htmx (no page load), the way an engineer sees it."""
    page = new_page(bypass_csp=True)
    log_in(page, lead_admin)
    page.goto(f"/runbooks/{SEED_SLUG}/")
    page.get_by_role("button", name="Start triage").click()
    expect(page).to_have_url(re.compile(r"/triage/\d+/$"))
    page.wait_for_load_state("load")
    session_url = page.url
    panel = page.locator("#triage-panel")
    page.evaluate("window.__marker = 1")

    notes = chunks(5000)  # a step note holds 5000 characters
    for n, note in enumerate(notes, start=1):
        box = panel.locator("details.note-box")
        box.locator("summary").click()
        box.locator("textarea[name=note]").fill(note)
        box.get_by_role("button", name="Save note").click()
        expect(panel.locator("ol.step-log > li")).to_have_count(n)
        expect(panel.locator("ol.step-log > li").last).to_contain_text("note")
    assert_inert(page, page_events, "after the notes")

    outcome = chunks(500)  # new cause and fix: 500 characters each
    finish = panel.locator("section.finish")
    finish.locator("#f-resolution").select_option("escalated")
    finish.locator("#f-cause-text").fill(outcome[0])
    finish.locator("#f-fix-text").fill(outcome[1])
    finish.locator("#f-notes").fill(everything())
    finish.get_by_role("button", name="Finish session").click()
    expect(panel.locator("section.triage-main > h2")).to_have_text("Finished: escalated")
    assert page.evaluate("window.__marker") == 1, "a full page load happened"
    assert page.url == session_url
    assert_inert(page, page_events, "after finishing")
    dds = panel.locator("dl.outcome dd")
    expect(dds.nth(0)).to_contain_text(outcome[0])
    expect(dds.nth(1)).to_contain_text(outcome[1])
    shown = normalised(dds.nth(3).text_content())
    missing = [vid for vid, payload in VECTORS if normalised(labelled(vid, payload)) not in shown]
    assert missing == [], f"outcome notes lack {missing}"
    page.screenshot(path=artifacts / "hostile-outcome.png", full_page=True, caret="initial")

    check = browser_check(page, page_events)
    session_id = int(SESSION_PATH.search(session_url).group(1))
    check(
        f"/triage/{session_id}/timeline/",
        [Text("table.timeline", f"Note: {note}") for note in notes]
        + [Text("main h2 + p", f"Cause: {outcome[0]}"), Text("main h2 + p", f"Fix: {outcome[1]}")],
    )
    check(f"/triage/{session_id}/", [Text("dl.outcome", outcome[0])])
    # The JSON, as Chromium shows it: text.
    response = page.goto(f"/triage/{session_id}.json")
    assert response.headers["content-type"] == "application/json"
    assert_inert(page, page_events, "session JSON")
    data = json.loads(page.locator("body").inner_text())
    assert [step["note"] for step in data["steps"] if step["kind"] == "note"] == notes
    assert data["outcome"]["notes"] == everything()


@pytest.mark.browser
def test_hostile_fields_in_sessions_run_no_script(
    new_page, runbooks, lead_admin, page_events, client, artifacts
):
    """Incident reference, step notes and outcome through the real forms (over HTTP), on the
    session page, timeline, home page, history, history filters, insights and lead panel."""
    page = new_page(bypass_csp=True)
    client.force_login(lead_admin)
    log_in(page, lead_admin)
    made = hostile_sessions(client, browser_check(page, page_events))
    assert {vid for h in made for vid, _p in GROUPS[h.n]} == {vid for vid, _p in VECTORS}
    page.goto(f"/triage/{made[0].pk}/timeline/")
    page.screenshot(path=artifacts / "hostile-timeline.png", full_page=True, caret="initial")


@pytest.mark.browser
def test_hostile_fields_from_alertmanager_run_no_script(
    new_page, runbooks, lead_admin, page_events, live_server, tokens, artifacts
):
    """Alert labels, annotations and receiver posted to the webhook over HTTP, on the session
    page, home page, history, unmapped-alerts page and the admin."""
    page = new_page(bypass_csp=True)
    log_in(page, lead_admin)

    def send(payload: dict) -> dict:
        response = page.request.post(
            live_server.url + HOOK,
            data=json.dumps(payload),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert response.status == 200, response.text()
        return response.json()

    made = hostile_alerts(send, browser_check(page, page_events))
    page.goto(f"/triage/{made[0].pk}/")
    page.screenshot(path=artifacts / "hostile-alert.png", full_page=True, caret="initial")
    page.goto("/alerts/unmapped/")
    page.screenshot(path=artifacts / "hostile-unmapped.png", full_page=True, caret="initial")


def test_xss_corpus_covers_every_vector_once_per_chunking():
    assert len(VECTORS) >= 50
    for packed in (GROUPS, groups(200), groups(500)):
        ids = [vid for group in packed for vid, _payload in group]
        assert sorted(ids) == sorted(vid for vid, _p in VECTORS)
    assert all(len(joined(g)) <= 120 for g in GROUPS)
    assert all(p in everything() for p in PAYLOADS)
