"""Request parameters of kb's read pages, validated (types, bounds) before any view uses them."""

import re

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


class TreeForm(forms.Form):
    """``/tree/<slug>/?trail=&open=&via=&fold=``. Invalid values fall back to defaults
    (``params``), like a search: the tree is shown without that choice, never an error."""

    # Slugs the tree page links to, comma-separated: "cloud/kubernetes,storage/disk-full".
    trail = forms.CharField(required=False, max_length=5000)
    open = forms.CharField(required=False, max_length=500)  # a node id; unknown ones are ignored
    via = forms.CharField(required=False, max_length=200)  # the DOM id a subtree goes into
    fold = forms.BooleanField(required=False)

    DEFAULTS = {"trail": (), "open": "", "via": "", "fold": False}

    def clean_trail(self) -> tuple[str, ...]:
        from kb.urls import SLUG  # kb.urls imports the views, which import this module

        slugs = [slug for slug in self.cleaned_data["trail"].split(",") if slug]
        if not all(re.fullmatch(SLUG, slug) for slug in slugs):
            raise forms.ValidationError("The trail is a comma-separated list of runbook slugs.")
        return tuple(slugs)

    def params(self) -> dict:
        """The valid parameters, with defaults for missing or invalid ones."""
        self.is_valid()
        return {**self.DEFAULTS, **self.cleaned_data}
