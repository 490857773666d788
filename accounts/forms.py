"""Forms of the accounts pages."""

from django import forms
from django.contrib.auth.forms import UsernameField


class ThrottleKeyForm(forms.Form):
    """The username a login attempt is throttled under, read as the login form reads it. A
    name the login form refuses (a NUL, which PostgreSQL cannot store or compare) is no key:
    that attempt is throttled by address only, and the login form says what is wrong."""

    username = UsernameField(required=False, max_length=150)

    def key(self) -> str:
        return self.cleaned_data["username"] if self.is_valid() else ""
