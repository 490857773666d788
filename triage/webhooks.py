"""The Alertmanager webhook receiver and the editors' list of alerts nobody mapped.

The receiver answers JSON on every path and never a 5xx for bad input, because
Alertmanager retries 5xx responses: 401 bad or missing token (nothing is read), 405 not a
POST, 413 body over the limit, 400 not version-4 JSON (with a reason), 200 processed.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from kb.permissions import role_required
from triage import alerts

logger = logging.getLogger("fieldguide.webhook")


def _error(status: int, reason: str) -> JsonResponse:
    # Refusals are logged: a misconfigured Alertmanager otherwise fails silently.
    logger.warning("alertmanager webhook refused (%d): %s", status, reason)
    return JsonResponse({"error": reason}, status=status)


def _authorized(request: HttpRequest) -> bool:
    """``Authorization: Bearer <token>`` against every configured token, in constant time."""
    tokens = [t for t in getattr(settings, "FIELDGUIDE_ALERTMANAGER_TOKENS", []) if t]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if not tokens or scheme.lower() != "bearer" or not given:
        return False
    offered = given.encode("utf-8", "surrogateescape")
    matched = False
    for token in tokens:  # no early exit: which token matched does not show in the timing
        matched |= hmac.compare_digest(offered, token.encode("utf-8", "surrogateescape"))
    return matched


class _TooLarge(Exception):
    pass


def _read_body(request: HttpRequest, limit: int) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = request.read(limit + 1)  # the stream, not request.body: never more than the limit
    if len(body) > limit:
        raise _TooLarge
    return body


@csrf_exempt
def alertmanager(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _error(405, "Alertmanager posts here; use POST.")
        response["Allow"] = "POST"
        return response
    if not _authorized(request):
        response = _error(401, "A valid 'Authorization: Bearer <token>' header is required.")
        response["WWW-Authenticate"] = 'Bearer realm="fieldguide-alertmanager"'
        return response
    try:
        body = _read_body(request, alerts.MAX_BODY_BYTES)
    except _TooLarge:
        return _error(413, f"The body is larger than {alerts.MAX_BODY_BYTES} bytes.")
    try:
        notification = alerts.parse_notification(body)
    except alerts.AlertPayloadError as exc:
        return _error(400, exc.reason)
    summary = alerts.alerts_receive(notification=notification)
    logger.info("alertmanager webhook: %s", summary.as_dict())
    return JsonResponse(summary.as_dict())


@role_required("editor")
def unmapped_alerts(request: HttpRequest) -> HttpResponse:
    context = {"rows": alerts.unmapped_alert_rows(), "mappings": alerts.mapping_rules()}
    return render(request, "triage/unmapped_alerts.html", context)
