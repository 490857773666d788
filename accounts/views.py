from django.contrib.auth.views import LoginView
from django.http import HttpResponse

from accounts.forms import ThrottleKeyForm
from accounts.throttling import client_ip, is_throttled


class ThrottledLoginView(LoginView):
    """Django's login, refusing with 429 while a username or address is throttled."""

    def post(self, request, *args, **kwargs) -> HttpResponse:
        username = ThrottleKeyForm(request.POST).key()
        if is_throttled(username, client_ip(request)):
            form = self.get_form()
            response = self.render_to_response(self.get_context_data(form=form, throttled=True))
            response.status_code = 429
            response["Retry-After"] = "900"
            return response
        return super().post(request, *args, **kwargs)
