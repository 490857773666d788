"""Forms of the editor pages: they only parse and bound the request; kb.authoring decides."""

from django import forms

from kb.markdown_io import MAX_RUNBOOK_BYTES


class EditForm(forms.Form):
    markdown = forms.CharField(strip=False, max_length=MAX_RUNBOOK_BYTES)
    base = forms.IntegerField(min_value=0)
    note = forms.CharField(required=False, max_length=500)


class NewRunbookForm(forms.Form):
    slug = forms.CharField(required=False, max_length=200)
    markdown = forms.CharField(strip=False, max_length=MAX_RUNBOOK_BYTES)
    note = forms.CharField(required=False, max_length=500)


class UploadForm(forms.Form):
    prefix = forms.CharField(required=False, max_length=200)
    note = forms.CharField(required=False, max_length=500)


class RestoreForm(forms.Form):
    number = forms.IntegerField(min_value=1)
    base = forms.IntegerField(min_value=0)


class LinksForm(forms.Form):
    base = forms.IntegerField(min_value=0)
    note = forms.CharField(required=False, max_length=500)
