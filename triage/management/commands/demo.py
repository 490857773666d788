from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand

from kb.services import runbooks_import
from kb.sources import collect_sources
from triage.demo_history import generate_history
from triage.models import TriageSession

SAMPLES = settings.BASE_DIR / "samples" / "runbooks"
SEEDS = settings.BASE_DIR.parent / "shared" / "seeds"

DEMO_USERS = [
    # (username, password, groups, staff)
    ("engineer", "engineer-demo-pass", ["engineer"], False),
    ("editor", "editor-demo-pass", ["engineer", "editor"], False),
    ("lead", "lead-demo-pass", ["engineer", "editor", "lead"], False),
    ("admin", "admin-demo-pass", ["engineer", "editor", "lead"], True),
]


class Command(BaseCommand):
    help = "Set up the demo: migrate, import sample runbooks, create demo users, serve."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="set up but do not serve")
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument(
            "--sessions", type=int, default=300, help="incident history to generate (first run)"
        )

    def handle(self, *args, no_serve: bool, addrport: str, sessions: int, **options):
        call_command("migrate", interactive=False, verbosity=0)
        roots = [SAMPLES] + ([SEEDS] if SEEDS.is_dir() else [])
        sources, errors = collect_sources([Path(r) for r in roots])
        report = runbooks_import(sources=sources, errors=errors, note="Demo content")
        self.stdout.write(
            f"Runbooks: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged"
        )
        self.stdout.write("Demo logins (username / password):")
        for username, password, groups, staff in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = staff
            user.save()
            user.groups.set(Group.objects.filter(name__in=groups))
            self.stdout.write(f"  {username:<9} {password:<20} {', '.join(groups)}")
        if sessions and not TriageSession.objects.exists():
            made = generate_history(sessions=sessions)
            self.stdout.write(f"Incident history: {made} sessions over the last 180 days")
        if not no_serve:
            self.stdout.write(f"Serving on http://{addrport}/ — Ctrl-C to stop.")
            call_command("runserver", addrport, use_reloader=False)
