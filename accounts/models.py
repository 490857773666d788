from django.db import models
from django.utils import timezone


class LoginFailure(models.Model):
    """A failed login, kept briefly to slow down password guessing (accounts.throttling)."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} from {self.ip} at {self.at:%Y-%m-%d %H:%M}"
