"""config.settings plus console logging of server errors, for the HTTP benchmarks.

With DJANGO_DEBUG=0 Django logs 500s only to mail_admins; the benchmarks want the
tracebacks in gunicorn's log (bench/results/gunicorn-<port>.log). Nothing else changes.
"""

from config.settings import *  # noqa: F403

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
