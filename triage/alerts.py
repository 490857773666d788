"""Prometheus Alertmanager alerts open triage sessions (issue 7).

Three parts, top to bottom:

- pure helpers (no ORM): read and validate Alertmanager's webhook body (version "4"), read
  label matchers, find runbook slugs in a ``runbook_url`` annotation, vet links;
- mapping an alert to a runbook: ``runbook_url`` first, then the admin's mapping table;
- services: ``alerts_receive`` opens one session per firing alert (fingerprint + startsAt),
  ignores repeats, and on a resolved notification closes a session nobody touched
  (resolution "resolved by the alert clearing") or only annotates one with work in progress.

Sessions opened here belong to the system user ``alertmanager`` and have status "from
alert" until an engineer acts on them (see ``triage.services._pick_up``).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from kb.markdown_io import normalise_slug
from kb.models import Runbook, RunbookAlert
from kb.permissions import has_role
from kb.services import runbook_alert_seen, runbook_alerts_replace
from triage.models import (
    AlertRunbookMapping,
    AlertStatus,
    Outcome,
    SessionAlert,
    TriageSession,
    TriageStep,
    UnmappedAlert,
)
from triage.services import (
    OutcomeInput,
    StepInput,
    TriageError,
    session_finish,
    session_start,
    step_record,
)

MAX_BODY_BYTES = 1024 * 1024
SYSTEM_USERNAME = "alertmanager"
RUNBOOK_URL_ANNOTATION = "runbook_url"
MAX_FINGERPRINT = 64
MAX_SLUG_SEGMENTS = 6
_TOKENS = uuid.uuid5(uuid.NAMESPACE_URL, "fieldguide:alertmanager")

# --------------------------------------------------------------------------- pure: the payload


class AlertPayloadError(ValueError):
    """The body is not Alertmanager's webhook JSON (version 4); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Alert:
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None  # None when Alertmanager sends Go's zero time
    generator_url: str
    fingerprint: str

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class Notification:
    receiver: str
    status: str
    group_key: str
    external_url: str
    truncated_alerts: int
    alerts: tuple[Alert, ...]


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_STATUSES = ("firing", "resolved")


def parse_notification(body: bytes) -> Notification:
    """Validate a webhook body completely before anything is written."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AlertPayloadError("The body is not UTF-8 text.") from exc
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise AlertPayloadError("The body is not valid JSON: nested too deeply.") from exc
    except ValueError as exc:
        raise AlertPayloadError(f"The body is not valid JSON: {exc}.") from exc
    _check_text(data)
    if not isinstance(data, dict):
        raise AlertPayloadError("The payload must be a JSON object.")
    version = data.get("version")
    if version != "4":
        shown = json.dumps(version)[:40] if "version" in data else "missing"
        raise AlertPayloadError(f'Unsupported version {shown}: only webhook version "4" is read.')
    _string_map(data, "groupLabels", "payload", required=False)
    _string_map(data, "commonLabels", "payload", required=False)
    _string_map(data, "commonAnnotations", "payload", required=False)
    _string(data, "externalURL", "payload", required=False)
    truncated = data.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise AlertPayloadError('payload: "truncatedAlerts" must be a whole number ≥ 0.')
    if "alerts" not in data:
        raise _missing("payload", "alerts")
    alerts = data["alerts"]
    if not isinstance(alerts, list):
        raise AlertPayloadError('payload: "alerts" must be a list.')
    return Notification(
        receiver=_string(data, "receiver", "payload"),
        status=_choice(data, "status", "payload"),
        group_key=_string(data, "groupKey", "payload"),
        external_url=_string(data, "externalURL", "payload", required=False),
        truncated_alerts=truncated,
        alerts=tuple(_alert(item, f"alerts[{i}]") for i, item in enumerate(alerts)),
    )


def _alert(item: Any, where: str) -> Alert:
    if not isinstance(item, dict):
        raise AlertPayloadError(f"{where}: an alert must be a JSON object.")
    fingerprint = _string(item, "fingerprint", where)
    if not fingerprint or len(fingerprint) > MAX_FINGERPRINT:
        raise AlertPayloadError(f'{where}: "fingerprint" must be 1 to {MAX_FINGERPRINT} chars.')
    starts_at = _time(item, "startsAt", where)
    if starts_at is None:
        raise AlertPayloadError(f'{where}: "startsAt" must be a real time, not the zero time.')
    return Alert(
        status=_choice(item, "status", where),
        labels=_string_map(item, "labels", where),
        annotations=_string_map(item, "annotations", where),
        starts_at=starts_at,
        ends_at=_time(item, "endsAt", where, required=False),
        generator_url=_string(item, "generatorURL", where, required=False),
        fingerprint=fingerprint,
    )


def _missing(where: str, key: str) -> AlertPayloadError:
    return AlertPayloadError(f'{where}: "{key}" is missing.')


def _string(data: dict, key: str, where: str, required: bool = True) -> str:
    if key not in data:
        if required:
            raise _missing(where, key)
        return ""
    value = data[key]
    if not isinstance(value, str):
        raise AlertPayloadError(f'{where}: "{key}" must be a string.')
    return value


def _choice(data: dict, key: str, where: str) -> str:
    value = _string(data, key, where)
    if value not in _STATUSES:
        raise AlertPayloadError(f'{where}: "{key}" must be "firing" or "resolved".')
    return value


def _string_map(data: dict, key: str, where: str, required: bool = True) -> dict[str, str]:
    if key not in data:
        if required:
            raise _missing(where, key)
        return {}
    value = data[key]
    if not isinstance(value, dict):
        raise AlertPayloadError(f'{where}: "{key}" must be an object of strings.')
    for name, item in value.items():
        if not isinstance(item, str):
            shown = json.dumps(name)[:60]
            raise AlertPayloadError(f'{where}: "{key}" value for {shown} must be a string.')
    return dict(value)


def _time(data: dict, key: str, where: str, required: bool = True) -> datetime | None:
    """RFC 3339 as Go writes it (nanoseconds allowed); Go's zero time means "not set"."""
    raw = _string(data, key, where, required)
    if not raw and not required:
        return None
    if not _RFC3339.fullmatch(raw):
        raise AlertPayloadError(f'{where}: "{key}" must be an RFC 3339 time with a zone.')
    if raw.startswith("0001-01-01"):
        return None
    try:
        value = datetime.fromisoformat(raw.upper())
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise AlertPayloadError(f'{where}: "{key}" is not a valid time.') from exc


def _check_text(data: Any) -> None:
    """Databases refuse NUL and unpaired surrogates: turn those into a 400, not a 500."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            stack.extend(item.values())
            texts = list(item.keys())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in texts:
            if "\x00" in text:
                raise AlertPayloadError("Text in the payload may not contain NUL characters.")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise AlertPayloadError("Text in the payload has an unpaired surrogate.") from exc


# --------------------------------------------------------------------------- pure: matchers


class MatcherError(ValueError):
    pass


_MATCHER = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*(?P<op>=~|!=|!~|=)[ \t]*"
    r'(?P<value>"(?:[^"\\\n]|\\.)*"|[^,\n\r"=]*)'
)
_SEPARATORS = re.compile(r"[\s,]*")
_BLANKS = re.compile(r"[ \t]*")


def parse_matchers(text: str) -> dict[str, str]:
    """``alertname=KubePodCrashLooping, namespace="prod"`` → {label: value}, all must match.

    Prometheus-style braces around the list are allowed; only ``=`` is supported.
    """
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    result: dict[str, str] = {}
    pos = 0
    while True:
        pos = _SEPARATORS.match(body, pos).end()
        if pos >= len(body):
            break
        found = _MATCHER.match(body, pos)
        if found is None:
            shown = body[pos : pos + 30]
            raise MatcherError(f"Cannot read a matcher at {shown!r}: write label=value.")
        name, op, raw = found.group("name", "op", "value")
        if op != "=":
            raise MatcherError(f"Only label=value matchers are supported, not {op} ({name}).")
        if raw.startswith('"'):
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise MatcherError(f"Cannot read the quoted value of {name}.") from exc
        else:
            value = raw.strip()
        if result.get(name, value) != value:
            raise MatcherError(f"Label {name} is matched twice with different values.")
        result[name] = value
        pos = _BLANKS.match(body, found.end()).end()
        if pos < len(body) and body[pos] not in ",\r\n":
            raise MatcherError(f"Expected a comma or a new line after {found.group(0).strip()!r}.")
    if not result:
        raise MatcherError("Write at least one matcher, e.g. alertname=KubePodCrashLooping.")
    return result


def matchers_match(matchers: dict[str, str], labels: dict[str, str]) -> bool:
    """Every matcher holds; an empty value matches a missing label (as in Prometheus)."""
    return all(labels.get(name, "") == value for name, value in matchers.items())


def format_matcher(name: str, value: str) -> str:
    return f"{name}={json.dumps(value, ensure_ascii=False)}"


# --------------------------------------------------------------------------- pure: links

_LINK_SUFFIXES = (".md", ".markdown", ".json", ".html", ".htm", ".txt")


def runbook_url_slugs(url: str) -> list[str]:
    """Slugs a ``runbook_url`` may name, best first.

    ``https://any.host/prefix/runbooks/cloud/kubernetes/`` names ``cloud/kubernetes`` (this
    Fieldguide, wherever it is served); otherwise the last path segments are tried, longest
    first (``…/runbooks/kubernetes/kubepodcrashlooping.md`` → ``kubernetes/kubepodcrashlooping``,
    then ``kubepodcrashlooping``). The host is never trusted, only the path is read.
    """
    try:
        path = unquote(urlsplit(url.strip()).path)
    except ValueError:
        return []
    segments = [part for part in path.split("/") if part not in ("", ".", "..")]
    if segments:
        last = segments[-1].lower()
        for suffix in _LINK_SUFFIXES:
            if last.endswith(suffix) and len(last) > len(suffix):
                segments[-1] = segments[-1][: -len(suffix)]
                break
    segments = [normalise_slug(part) for part in segments]
    if not all(segments):
        return []
    candidates = []
    if "runbooks" in segments:
        after = len(segments) - segments[::-1].index("runbooks")
        if after < len(segments):
            candidates.append("/".join(segments[after:]))
    for count in range(min(len(segments), MAX_SLUG_SEGMENTS), 0, -1):
        candidates.append("/".join(segments[-count:]))
    return list(dict.fromkeys(candidates))


def safe_http_url(url: str) -> str:
    """The URL when it is absolute http(s), else "" (never a javascript: or data: link)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return ""


# --------------------------------------------------------------------------- mapping


class RunbookMapper:
    """Finds the runbook for an alert: ``runbook_url`` first, then the mapping table.

    Loads the mapping table once; remembers slug look-ups. One per delivery or page.
    """

    def __init__(self) -> None:
        self._rules: list[tuple[AlertRunbookMapping, dict[str, str]]] | None = None
        self._runbooks: dict[str, Runbook | None] = {}

    def rules(self) -> list[tuple[AlertRunbookMapping, dict[str, str]]]:
        if self._rules is None:
            self._rules = []
            for rule in AlertRunbookMapping.objects.select_related("runbook"):
                try:
                    self._rules.append((rule, parse_matchers(rule.matchers)))
                except MatcherError:
                    continue  # saved around the admin's validation; never matches
        return self._rules

    def preload(self, annotation_sets: list[dict[str, str]]) -> None:
        slugs = set()
        for found in annotation_sets:
            slugs.update(runbook_url_slugs(found.get(RUNBOOK_URL_ANNOTATION, "")))
        self._lookup(slugs)

    def _lookup(self, slugs) -> None:
        wanted = [slug for slug in slugs if slug not in self._runbooks]
        if not wanted:
            return
        found = {rb.slug: rb for rb in Runbook.objects.filter(slug__in=wanted)}
        for slug in wanted:
            self._runbooks[slug] = found.get(slug)

    def runbook_for(
        self, labels: dict[str, str], annotations: dict[str, str]
    ) -> tuple[Runbook | None, str]:
        """(runbook, how it was found) or (None, "")."""
        candidates = runbook_url_slugs(annotations.get(RUNBOOK_URL_ANNOTATION, ""))
        self._lookup(candidates)
        for slug in candidates:
            if self._runbooks.get(slug) is not None:
                return self._runbooks[slug], "runbook_url"
        for rule, matchers in self.rules():
            if matchers_match(matchers, labels):
                return rule.runbook, f"mapping #{rule.pk}: {' '.join(rule.matchers.split())}"[:200]
        return None, ""


# --------------------------------------------------------------------------- services


@dataclass
class ReceiveSummary:
    opened: int = 0
    repeats: int = 0
    resolved: int = 0
    unmapped: int = 0
    ignored: int = 0  # resolved notifications for alerts never seen firing
    sessions: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "repeats": self.repeats,
            "resolved": self.resolved,
            "unmapped": self.unmapped,
            "ignored": self.ignored,
            "sessions": self.sessions,
        }


def alert_user() -> AbstractBaseUser:
    """The system user that owns sessions opened by alerts: no password, engineer role."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: SYSTEM_USERNAME})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not has_role(user, "engineer"):
        user.groups.add(Group.objects.get_or_create(name="engineer")[0])
        user._fieldguide_roles = None  # forget the cached roles
    return user


@transaction.atomic
def alerts_receive(*, notification: Notification, at: datetime | None = None) -> ReceiveSummary:
    """Process one validated webhook delivery. Idempotent per alert (fingerprint + startsAt)."""
    now = at or timezone.now()
    summary = ReceiveSummary()
    bot = alert_user()
    mapper = RunbookMapper()
    for alert in notification.alerts:
        if alert.status == AlertStatus.FIRING:
            _receive_firing(alert, notification, bot, mapper, now, summary)
        else:
            _receive_resolved(alert, bot, now, summary)
    return summary


def _receive_firing(
    alert: Alert,
    notification: Notification,
    bot: AbstractBaseUser,
    mapper: RunbookMapper,
    now: datetime,
    summary: ReceiveSummary,
) -> None:
    known = _known(alert)
    if known is not None:
        _repeat(known, alert, now, summary)
        return
    runbook, mapped_by = mapper.runbook_for(alert.labels, alert.annotations)
    if runbook is None:
        _record_unmapped(alert, notification, now)
        summary.unmapped += 1
        return
    try:
        with transaction.atomic():
            session = session_start(
                runbook=runbook,
                user=bot,
                alert_source=f"Alertmanager {notification.receiver}: {alert.alertname or '?'}",
                at=now,
            )
            session.status = TriageSession.Status.FROM_ALERT
            session.save(update_fields=["status"])
            SessionAlert.objects.create(
                session=session,
                fingerprint=alert.fingerprint,
                starts_at=alert.starts_at,
                status=AlertStatus.FIRING,
                alertname=alert.alertname[:200],
                labels=alert.labels,
                annotations=alert.annotations,
                generator_url=alert.generator_url,
                receiver=notification.receiver[:200],
                group_key=notification.group_key,
                mapped_by=mapped_by,
                first_notified_at=now,
                last_notified_at=now,
            )
            runbook_alert_seen(runbook_id=runbook.pk, name=alert.alertname)
    except IntegrityError:
        # The same alert delivered concurrently: the other delivery opened the session.
        _repeat(_known(alert), alert, now, summary)
        return
    except TriageError:
        # The runbook cannot be triaged (no revision): treat the alert as unmapped.
        _record_unmapped(alert, notification, now)
        summary.unmapped += 1
        return
    UnmappedAlert.objects.filter(fingerprint=alert.fingerprint).delete()
    summary.opened += 1
    summary.sessions.append(session.pk)


def _known(alert: Alert) -> SessionAlert | None:
    return (
        SessionAlert.objects.select_for_update()
        .filter(fingerprint=alert.fingerprint, starts_at=alert.starts_at)
        .first()
    )


def _repeat(known: SessionAlert, alert: Alert, now: datetime, summary: ReceiveSummary) -> None:
    """A re-send of a firing we already have: refresh what may change, open nothing."""
    known.notifications += 1
    known.last_notified_at = now
    fields = ["notifications", "last_notified_at"]
    if not known.is_resolved:  # a late firing re-send never undoes a resolve
        known.annotations = alert.annotations
        known.generator_url = alert.generator_url or known.generator_url
        fields += ["annotations", "generator_url"]
    known.save(update_fields=fields)
    summary.repeats += 1
    summary.sessions.append(known.session_id)


def _record_unmapped(alert: Alert, notification: Notification, now: datetime) -> None:
    row, _created = UnmappedAlert.objects.select_for_update().get_or_create(
        fingerprint=alert.fingerprint, defaults={"first_seen": now}
    )
    row.alertname = alert.alertname[:200]
    row.labels = alert.labels
    row.annotations = alert.annotations
    row.receiver = notification.receiver[:200]
    row.status = alert.status
    row.last_seen = now
    if alert.status == AlertStatus.FIRING and row.last_starts_at != alert.starts_at:
        row.count += 1
        row.last_starts_at = alert.starts_at
    row.save()


def _receive_resolved(
    alert: Alert, bot: AbstractBaseUser, now: datetime, summary: ReceiveSummary
) -> None:
    known = _known(alert)
    if known is None:
        if UnmappedAlert.objects.filter(fingerprint=alert.fingerprint).exists():
            UnmappedAlert.objects.filter(fingerprint=alert.fingerprint).update(
                status=AlertStatus.RESOLVED, last_seen=now
            )
            summary.unmapped += 1
        else:
            summary.ignored += 1  # never seen firing: nothing to attach it to
        return
    if known.is_resolved:
        _repeat(known, alert, now, summary)
        return
    known.status = AlertStatus.RESOLVED
    known.ends_at = alert.ends_at or now
    known.resolved_at = now
    known.notifications += 1
    known.last_notified_at = now
    known.save()
    summary.resolved += 1
    summary.sessions.append(known.session_id)
    _settle(known, bot, now)


def _settle(known: SessionAlert, bot: AbstractBaseUser, now: datetime) -> None:
    """Close the session if nobody has worked on it; otherwise leave a note."""
    session = TriageSession.objects.get(pk=known.session_id)
    if session.is_finished:
        return
    name = known.alertname or known.fingerprint
    cleared = f"{known.ends_at:%Y-%m-%d %H:%M:%S} UTC"
    touched = session.steps.exclude(author=bot).exists()
    try:
        if not touched:
            session_finish(
                session=session,
                user=bot,
                token=uuid.uuid5(_TOKENS, f"resolved:{known.pk}"),
                outcome=OutcomeInput(
                    resolution=Outcome.Resolution.RESOLVED_BY_ALERT,
                    notes=f"Alert {name} cleared at {cleared} before anyone started on it.",
                ),
                at=now,
            )
        else:
            step_record(
                session=session,
                user=bot,
                token=uuid.uuid5(_TOKENS, f"resolved-note:{known.pk}"),
                answer=StepInput(
                    kind=TriageStep.Kind.NOTE,
                    note=f"Alertmanager: alert {name} resolved at {cleared}.",
                ),
                at=now,
            )
    except TriageError:
        # E.g. the session was put aside: the alert row already shows it resolved.
        return


# --------------------------------------------------------------------------- reading


def session_alert(session: TriageSession) -> SessionAlert | None:
    return session.alerts.order_by("starts_at", "id").first()


def session_alert_json(session: TriageSession) -> dict[str, Any] | None:
    alert = session_alert(session)
    if alert is None:
        return None

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "status": alert.status,
        "starts_at": iso(alert.starts_at),
        "ends_at": iso(alert.ends_at),
        "resolved_at": iso(alert.resolved_at),
        "labels": alert.labels,
        "annotations": alert.annotations,
        "generator_url": alert.generator_url,
        "receiver": alert.receiver,
        "group_key": alert.group_key,
        "mapped_by": alert.mapped_by,
        "notifications": alert.notifications,
        "first_notified_at": iso(alert.first_notified_at),
        "last_notified_at": iso(alert.last_notified_at),
    }


def open_alert_sessions(limit: int = 20) -> list[TriageSession]:
    """Unfinished sessions that alerts opened, newest first (for the home page)."""
    return list(
        TriageSession.objects.unfinished()
        .filter(pk__in=SessionAlert.objects.values("session_id"))
        .select_related("runbook")
        .prefetch_related("alerts")
        .order_by("-started_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class UnmappedRow:
    alert: UnmappedAlert
    mapped_to: Runbook | None  # a mapping or runbook added since it was last seen
    add_mapping_url: str


def unmapped_alert_rows(limit: int = 200) -> list[UnmappedRow]:
    alerts = list(UnmappedAlert.objects.all()[:limit])
    mapper = RunbookMapper()
    mapper.preload([a.annotations for a in alerts])
    add_url = reverse("admin:triage_alertrunbookmapping_add")
    rows = []
    for alert in alerts:
        runbook, _how = mapper.runbook_for(alert.labels, alert.annotations)
        prefill = (
            "?" + urlencode({"matchers": format_matcher("alertname", alert.alertname)})
            if alert.alertname
            else ""
        )
        rows.append(UnmappedRow(alert, runbook, add_url + prefill))
    return rows


def mapping_rules() -> list[AlertRunbookMapping]:
    return list(AlertRunbookMapping.objects.select_related("runbook"))


def mapping_alert_names_sync(**_signal) -> None:
    """Make every mapping's ``alertname=`` a searchable alert name of its runbook (kb
    RunbookAlert, source "mapping"); connected to mapping saves and deletes."""
    names: dict[int, list[str]] = {}
    for mapping in AlertRunbookMapping.objects.only("matchers", "runbook_id"):
        try:
            alertname = parse_matchers(mapping.matchers).get("alertname", "")
        except MatcherError:
            continue
        if alertname:
            names.setdefault(mapping.runbook_id, []).append(alertname)
    runbook_alerts_replace(source=RunbookAlert.Source.MAPPING, names=names)


def seen_alert_names_sync() -> None:
    """Make every alert that opened a session searchable on that session's runbook (after
    an upgrade; new alerts are recorded as they arrive)."""
    names: dict[int, list[str]] = {}
    seen = SessionAlert.objects.exclude(alertname="").values_list("session__runbook", "alertname")
    for runbook_id, alertname in seen.distinct():
        names.setdefault(runbook_id, []).append(alertname)
    runbook_alerts_replace(source=RunbookAlert.Source.SEEN, names=names)
