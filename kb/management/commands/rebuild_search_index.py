"""Rebuild the full-text search index from the stored runbooks."""

from django.core.management.base import BaseCommand

from kb.services import search_index_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the full-text search index (documents, FTS5 or tsvector, vocabulary) from "
        "the stored runbooks. Imports and edits keep it current; run this after restoring a "
        "database copied without its index."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--missing", action="store_true", help="only runbooks that have no search document"
        )

    def handle(self, *args, missing: bool, **options):
        count = search_index_rebuild(only_missing=missing)
        self.stdout.write(f"Indexed {count} runbook{'s' if count != 1 else ''}.")
