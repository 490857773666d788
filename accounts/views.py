from django.contrib.auth.views import LoginView
from django.http import HttpResponse

from accounts.throttling import client_ip, is_throttled, throttle_key


class ThrottledLoginView(LoginView):
    """Django's login, refusing with 429 while a username or address is throttled."""

    def post(self, request, *args, **kwargs) -> HttpResponse:
        if is_throttled(throttle_key(request.POST.get("username")), client_ip(request)):
            form = self.get_form()
            response = self.render_to_response(self.get_context_data(form=form, throttled=True))
            response.status_code = 429
            response["Retry-After"] = "900"
            return response
        return super().post(request, *args, **kwargs)
