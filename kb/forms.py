"""Request parameters of kb's read pages, validated (types, bounds) before any view uses them."""

from django import forms

from kb.search import PER_PAGE
from kb.search_index import MAX_RANKED
from kb.search_query import MAX_QUERY_CHARS


class PastedTextField(forms.CharField):
    """Text pasted from a terminal or a log: NUL and other whitespace become single spaces
    (a NUL would otherwise invalidate the whole query)."""

    def to_python(self, value) -> str:
        return " ".join(super().to_python(value).replace("\x00", " ").split())


class SearchForm(forms.Form):
    """``/search/?q=&category=&tag=&page=&exact=``. Invalid values fall back to defaults
    (``params``): a search page never fails on a parameter."""

    q = PastedTextField(required=False)
    category = forms.CharField(required=False, max_length=100)
    tag = forms.CharField(required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_RANKED // PER_PAGE)
    exact = forms.BooleanField(required=False)

    DEFAULTS = {"q": "", "category": "", "tag": "", "page": 1, "exact": False}

    def clean_q(self) -> str:
        # Pasted log lines can be long; only the start is searched, and the page says so.
        text = self.cleaned_data["q"]
        self.truncated = len(text) > MAX_QUERY_CHARS
        return text[:MAX_QUERY_CHARS]

    def params(self) -> dict:
        """The valid parameters, with defaults for missing or invalid ones."""
        self.is_valid()
        cleaned = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        return {**self.DEFAULTS, **cleaned}
