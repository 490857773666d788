from django import template
from django.utils.safestring import mark_safe

from kb.rendering import markdown_inline_html, markdown_label_html, markdown_to_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    # Safe to mark: markdown_to_html sanitises with an allowlist.
    return mark_safe(markdown_to_html(text))  # noqa: S308


@register.filter(name="markdown_inline")
def markdown_inline_filter(text: str) -> str:
    return mark_safe(markdown_inline_html(text))  # noqa: S308


@register.filter(name="markdown_label")
def markdown_label_filter(text: str) -> str:
    return mark_safe(markdown_label_html(text))  # noqa: S308
