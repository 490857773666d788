import uuid

from kb.permissions import user_roles


def roles(request) -> dict:
    """Lets templates show only what the user may do (views still check), and gives forms
    that must not act twice a fresh one-time token per page."""
    return {
        "roles": user_roles(request.user) if hasattr(request, "user") else set(),
        "form_token": uuid.uuid4,
    }
