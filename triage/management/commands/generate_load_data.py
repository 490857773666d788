"""Fill a database with a production-sized knowledge base and incident history (issue 9).

    python manage.py generate_load_data --runbooks 1000 --sessions 100000 --seed 1

See ``triage.load_data`` for what is generated and how it matches the real services.
"""

import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from triage.load_data import LoadDataRefused, generate

TOLERANCE = 1e-9


class Command(BaseCommand):
    help = (
        "Import N generated runbooks through the importer and simulate M triage sessions "
        "(bulk rows identical to the services'; --via-services to go through them). "
        "Deterministic for a seed and --until. Runbooks are re-imported idempotently; "
        "sessions are only added to an empty history (skipped if there are already at least "
        "M, refused if there are fewer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runbooks", type=int, default=1000)
        parser.add_argument("--sessions", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=730, help="history spread over days")
        parser.add_argument(
            "--until",
            help="end of the history, YYYY-MM-DD (UTC; default today 00:00, so the same seed "
            "gives the same rows all day)",
        )
        parser.add_argument("--engineers", type=int, default=60, help="load-eng-NNN users")
        parser.add_argument(
            "--via-services",
            action="store_true",
            help="record every session through triage.services (slow; the reference)",
        )
        parser.add_argument("--batch", type=int, default=2000, help="sessions per bulk insert")
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")

    def handle(self, *args, **opts):
        if opts["runbooks"] < 1 or opts["sessions"] < 0 or opts["days"] < 1:
            raise CommandError("--runbooks must be >= 1, --sessions >= 0 and --days >= 1")
        until = None
        if opts["until"]:
            try:
                until = datetime.strptime(opts["until"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError as exc:
                raise CommandError(f"--until: {exc}") from None

        def log(message: str) -> None:
            if not opts["quiet"]:
                print(f"generate_load_data: {message}", file=sys.stderr, flush=True)

        try:
            report = generate(
                runbooks=opts["runbooks"],
                sessions=opts["sessions"],
                seed=opts["seed"],
                days=opts["days"],
                until=until,
                engineers=opts["engineers"],
                via_services=opts["via_services"],
                batch=max(1, opts["batch"]),
                log=log,
            )
        except LoadDataRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Runbooks: {report.runbooks_created} created, {report.runbooks_updated} updated, "
            f"{report.runbooks_unchanged} unchanged ({report.import_seconds:.1f} s)."
        )
        if opts["sessions"] == 0:
            self.stdout.write("Sessions: none asked for.")
            return
        if report.skipped_sessions:
            self.stdout.write("Sessions: already there, nothing added.")
            return
        verdict = ""
        if report.drift is not None:
            agrees = "agrees" if report.drift <= TOLERANCE else "DRIFTED"
            verdict = (
                f"; ranking statistics rebuilt, largest difference {report.drift:.3g} ({agrees})"
            )
        self.stdout.write(
            f"Sessions: {report.sessions} ({report.finished} finished), {report.steps} steps, "
            f"{report.outcomes} outcomes, {report.users} engineers in "
            f"{report.sessions_seconds:.1f} s; rebuild {report.rebuild_seconds:.1f} s{verdict}."
        )
        if report.drift is not None and report.drift > TOLERANCE:
            raise CommandError("the statistics kept while generating disagree with a rebuild")
