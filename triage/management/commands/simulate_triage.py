import json as _json

from django.core.management.base import BaseCommand, CommandError

from triage.simulation import WORLDS, simulate


class Command(BaseCommand):
    help = (
        "Simulate incidents from a hidden true world through the real triage services and "
        "report the expected cost of resolution (minutes) of the authored, learned and oracle "
        "check orders per window of 20 incidents. Nothing is kept in the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--world", choices=WORLDS, default="inverted")
        parser.add_argument("--incidents", type=int, default=200)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, world: str, incidents: int, seed: int, json: bool, **options):
        if not 1 <= incidents <= 100_000:
            raise CommandError("--incidents must be between 1 and 100000")
        result = simulate(world, incidents, seed)
        if json:
            self.stdout.write(_json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(f"world={world} incidents={incidents} seed={seed}  (ECR, minutes)")
        self.stdout.write(
            f"{'incidents':>11}  {'authored':>8}  {'learned':>8}  {'oracle':>8}  learned/oracle"
        )
        for w in result.windows:
            self.stdout.write(
                f"{w.start:>4}–{w.end:<6}  {w.authored:8.2f}  {w.learned:8.2f}  {w.oracle:8.2f}"
                f"  {w.learned / w.oracle:>8.3f}"
            )
