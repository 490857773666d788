from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kb.services import RunbookImportFailed, runbooks_import
from kb.sources import collect_sources


class Command(BaseCommand):
    help = (
        "Import runbooks from files or folders (.md, .markdown, .txt, recursively; symbolic "
        "links inside a folder are refused, not followed). A file's slug is its path, or its "
        "front matter slug:. The batch is atomic: one bad file imports nothing unless "
        "--skip-invalid is given; every error names the file and line."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the good files and report the bad ones instead of refusing the batch",
        )
        parser.add_argument("--note", default="", help="revision note for changed runbooks")
        parser.add_argument(
            "--site-url",
            action="append",
            default=[],
            metavar="URL",
            help="base URL where this collection is published (repeatable): full links into "
            "it are read as links between runbooks, e.g. https://runbooks.example.com/",
        )

    def handle(self, *args, paths, skip_invalid, note, site_url, **options):
        sources, errors = collect_sources(paths)
        if not sources and not errors:
            raise CommandError("no runbook files (.md, .markdown, .txt) found")
        try:
            report = runbooks_import(
                sources=sources,
                errors=errors,
                skip_invalid=skip_invalid,
                note=note,
                site_urls=tuple(site_url),
            )
        except RunbookImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(f"error: {error}")
            raise CommandError(
                f"{len(exc.errors)} file(s) could not be imported; nothing was written "
                "(use --skip-invalid to import the rest)"
            ) from None
        for error in report.skipped:
            self.stderr.write(f"skipped: {error}")
        for warning in report.warnings:
            self.stdout.write(f"warning: {warning}")
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped, "
            f"{len(report.warnings)} warning{'s' if len(report.warnings) != 1 else ''}"
        )
