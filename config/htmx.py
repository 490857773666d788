"""``Vary: HX-Request`` on every response.

A URL serves its full page or, to htmx, a fragment of it (``{% partialdef %}``). htmx pushes
that URL into the history, so without this header the browser's cache answers Back with the
fragment alone: no header, no styles, no search box (htmx's documented caveat).
"""

from django.utils.cache import patch_vary_headers


class VaryOnHtmxMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        return response
