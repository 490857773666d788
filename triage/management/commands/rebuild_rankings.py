from django.core.management.base import BaseCommand

from triage.learning import rebuild_statistics

TOLERANCE = 1e-9


class Command(BaseCommand):
    help = (
        "Recompute the learned-ranking statistics from every finished session, report how far "
        "the incrementally kept ones had drifted, and replace them."
    )

    def handle(self, *args, **options):
        drift = rebuild_statistics()
        verdict = "agrees" if drift <= TOLERANCE else "DRIFTED"
        self.stdout.write(
            f"Rebuilt ranking statistics: largest difference {drift:.3g} ({verdict}; "
            f"tolerance {TOLERANCE:g})."
        )
