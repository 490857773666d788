"""Forms of the editor pages: they only parse and bound the request; kb.authoring decides."""

from django import forms

from kb.markdown_io import MAX_RUNBOOK_BYTES
from kb.uploads import upload_prefix


class EditForm(forms.Form):
    markdown = forms.CharField(strip=False, max_length=MAX_RUNBOOK_BYTES)
    base = forms.IntegerField(min_value=0)
    note = forms.CharField(required=False, max_length=500)


class NewRunbookForm(forms.Form):
    slug = forms.CharField(required=False, max_length=200)
    markdown = forms.CharField(strip=False, max_length=MAX_RUNBOOK_BYTES)
    note = forms.CharField(required=False, max_length=500)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one ``<input type="file" multiple>`` (Django's documented way)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        single = super().clean
        items = list(data) if isinstance(data, list | tuple) else [data] if data else []
        if not items:
            single(None, initial)  # "required" is raised here
            return []
        return [single(item, initial) for item in items]


class UploadForm(forms.Form):
    """An upload: files, an optional folder put before every slug, a note, and whether the
    user confirmed that existing runbooks get a new revision (the first submit never
    replaces any; it lists them and asks)."""

    # Empty files pass here so that the importer names them ("x.md:1: file is empty").
    files = MultipleFileField(
        allow_empty_file=True, error_messages={"required": "Choose one or more files."}
    )
    prefix = forms.CharField(required=False, max_length=200)
    note = forms.CharField(required=False, max_length=500)
    replace = forms.BooleanField(required=False)

    def clean_prefix(self) -> str:
        try:
            return upload_prefix(self.cleaned_data["prefix"])
        except ValueError as exc:
            raise forms.ValidationError(f"Folder: {exc}.") from None


class RestoreForm(forms.Form):
    number = forms.IntegerField(min_value=1)
    base = forms.IntegerField(min_value=0)


class LinksForm(forms.Form):
    base = forms.IntegerField(min_value=0)
    note = forms.CharField(required=False, max_length=500)
