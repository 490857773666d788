import uuid

from kb.permissions import user_roles


def roles(request) -> dict:
    """Lets templates show only what the user may do; views still check."""
    return {"roles": user_roles(request.user) if hasattr(request, "user") else set()}


def form_token(request) -> dict:
    """A fresh one-time token for forms that must not act twice (made only when used)."""
    return {"form_token": uuid.uuid4}
