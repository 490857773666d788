"""Refuse, with a short 400, a request declaring a charset other than UTF-8.

Django reads form bodies only as UTF-8: a POST declaring
``application/x-www-form-urlencoded; charset=latin-1`` raises BadRequest when the body is
first read (in CsrfViewMiddleware), and Django's 400 page reads it again (its CSRF token),
so the client got a 500 — anonymous, the login page included. A declared charset that is
no text encoding ("rot13", "base64") or fails on some bytes ("punycode") broke reading the
query string of any request the same way. A name Python does not know is ignored, as
Django ignores it: the request is read as UTF-8.

Goes before any middleware that reads request.GET or request.POST (CsrfViewMiddleware).
"""

import codecs
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

UTF8_COMPATIBLE = {"utf-8", "ascii"}  # codecs' canonical names; ASCII is a part of UTF-8


def declared_codec(request: HttpRequest) -> str:
    """The canonical codec name of the request's declared charset; "" for none or unknown."""
    charset = (request.content_params or {}).get("charset", "")
    try:
        return codecs.lookup(charset).name if charset else ""
    except (LookupError, ValueError):
        return ""


class RequestCharsetMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        codec = declared_codec(request)
        if codec and codec not in UTF8_COMPATIBLE:
            return HttpResponse(
                "Bad request: send it as UTF-8 (charset=utf-8); no other charset is read.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        if codec:
            request.encoding = "utf-8"  # "utf8", "us-ascii": Django's forms take only "utf-8"
        return self.get_response(request)
