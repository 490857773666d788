from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """``mapping|lookup:key`` for dictionaries keyed by runtime values."""
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"
