"""SQLite for a small team (config/settings.py): concurrent writers wait their turn."""

import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's locking; PostgreSQL locks rows"
)


@pytest.fixture
def file_database(tmp_path, django_db_blocker):
    """An alias configured as the app's own database, on a file (the test database lives
    in memory, where there is no journal and no second connection); each thread gets its
    own connection to it."""
    alias = "sqlite_file"
    config = {**settings.DATABASES["default"], "NAME": str(tmp_path / "db.sqlite3")}
    connections.settings[alias] = connections.configure_settings(
        {**settings.DATABASES, alias: config}
    )[alias]
    with django_db_blocker.unblock():
        with connections[alias].cursor() as cursor:
            cursor.execute("CREATE TABLE step (n INTEGER)")
        yield alias
        connections[alias].close()
    del connections[alias]
    del connections.settings[alias]


def test_sqlite_settings_use_wal_and_immediate_transactions(file_database):
    db = connections[file_database]
    with db.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert db.transaction_mode == "IMMEDIATE"


def test_sqlite_read_then_write_transactions_wait_instead_of_failing(
    file_database, django_db_blocker
):
    # Two engineers' requests, each reading then writing in one transaction. With SQLite's
    # default (DEFERRED) the second one fails at once with "database is locked", which
    # the app answers with 503.
    errors: list[Exception] = []
    reading = threading.Event()

    def engineer(hold: float) -> None:
        with django_db_blocker.unblock():
            try:
                db = connections[file_database]
                with transaction.atomic(using=file_database), db.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM step")
                    reading.set()
                    time.sleep(hold)
                    cursor.execute("INSERT INTO step VALUES (1)")
            except Exception as exc:  # noqa: BLE001 - the assertion below shows it
                errors.append(exc)
            finally:
                connections[file_database].close()

    first = threading.Thread(target=engineer, args=(0.5,))
    first.start()
    reading.wait(5)
    second = threading.Thread(target=engineer, args=(0,))
    second.start()
    first.join(10)
    second.join(10)
    assert errors == []
    with django_db_blocker.unblock(), connections[file_database].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM step")
        assert cursor.fetchone()[0] == 2
