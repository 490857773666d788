"""Request parameters of kb's read pages, validated (types, bounds) before any view uses them."""

from django import forms

from kb.search_query import MAX_QUERY_CHARS, clip


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
    # Past the last page shows the last page (Paginator.get_page).
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    exact = forms.BooleanField(required=False)

    DEFAULTS = {"q": "", "category": "", "tag": "", "page": 1, "exact": False}
    truncated = False  # set by clean_q

    def clean_q(self) -> str:
        # A long paste is searched by its start and its end, and the page says so.
        text = self.cleaned_data["q"]
        self.truncated = len(text) > MAX_QUERY_CHARS
        return clip(text)

    def params(self) -> dict:
        """The valid parameters, with defaults for missing or invalid ones."""
        self.is_valid()
        cleaned = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        return {**self.DEFAULTS, **cleaned}
