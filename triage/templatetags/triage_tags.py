import uuid

from django import template

register = template.Library()


@register.simple_tag
def step_token() -> str:
    """A fresh token per form: resubmitting the same form records one step."""
    return str(uuid.uuid4())
