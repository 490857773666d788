import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kb.exporting import runbook_to_dict, runbook_to_markdown
from kb.extensions import learned_ranking
from kb.models import Runbook


class Command(BaseCommand):
    help = "Write every runbook to DIR, one file per runbook at its slug path."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--format", choices=["md", "json"], default="md")

    def handle(self, *args, directory: Path, format: str, **options):
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} exists and is not a folder")
        count = 0
        for runbook in Runbook.objects.with_parts().iterator(chunk_size=200):
            target = directory / f"{runbook.slug}.{format}"
            target.parent.mkdir(parents=True, exist_ok=True)
            if format == "md":
                content = runbook_to_markdown(runbook)
            else:
                data = runbook_to_dict(runbook, learned=learned_ranking(runbook))
                content = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            target.write_text(content, encoding="utf-8")
            count += 1
        self.stdout.write(f"{count} runbook(s) written to {directory} as {format}")
