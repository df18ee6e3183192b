"""SQLite store: upsert on Fiskil ids, soft delete, one transaction per written page.

Data can change between syncs, so records are upserted and records that disappear are soft
deleted (`deleted_at`) rather than removed (https://docs.fiskil.com/data-api/guides/resources/best-practices).
The webhook message ids live here too, so a retry after a restart is still recognised.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: Tables holding synced Fiskil data; each keyed by the record's Fiskil id.
DATA_TABLES = ("accounts", "balances", "transactions")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS end_users (
    id TEXT PRIMARY KEY, email TEXT, name TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS link_sessions (
    state TEXT PRIMARY KEY, end_user_id TEXT NOT NULL, session_id TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, end_user_id TEXT NOT NULL, institution_id TEXT, active INTEGER NOT NULL,
    raw TEXT NOT NULL, updated_at REAL NOT NULL, deleted_at REAL);
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, end_user_id TEXT NOT NULL, arrangement_id TEXT, account_id TEXT,
    raw TEXT NOT NULL, updated_at REAL NOT NULL, deleted_at REAL);
CREATE TABLE IF NOT EXISTS balances (
    id TEXT PRIMARY KEY, end_user_id TEXT NOT NULL, arrangement_id TEXT, account_id TEXT,
    raw TEXT NOT NULL, updated_at REAL NOT NULL, deleted_at REAL);
CREATE TABLE IF NOT EXISTS transactions (
    id TEXT PRIMARY KEY, end_user_id TEXT NOT NULL, arrangement_id TEXT, account_id TEXT,
    raw TEXT NOT NULL, updated_at REAL NOT NULL, deleted_at REAL);
CREATE TABLE IF NOT EXISTS webhook_events (
    message_id TEXT PRIMARY KEY, event TEXT, end_user_id TEXT, received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS processed_webhooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, event TEXT, status TEXT NOT NULL,
    detail TEXT, processed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS user_errors (
    end_user_id TEXT PRIMARY KEY, code TEXT NOT NULL, message TEXT NOT NULL, error_id TEXT,
    created_at REAL NOT NULL);
"""
_ALL_TABLES = ("end_users", "link_sessions", "consents", *DATA_TABLES, "webhook_events",
               "processed_webhooks", "user_errors")


@dataclass(frozen=True)
class StoredError:
    code: str
    message: str
    error_id: str | None


def record_key(record: dict, table: str) -> str | None:
    """The Fiskil id a record is upserted on (fiskil_id; accounts/balances fall back to account_id)."""
    key = record.get("fiskil_id") or record.get("id")
    if not key and table in ("accounts", "balances"):
        key = record.get("account_id")
    return str(key) if key else None


class Store:
    """Thread-safe access to one SQLite file (one connection guarded by a lock)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL keeps this crash-safe; much faster
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: a failure inside leaves the store as it was."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, tuple(args)))

    def reset(self) -> None:
        """Forget everything (the harness calls this between scenarios)."""
        with self.transaction() as db:
            for table in _ALL_TABLES:
                db.execute(f"DELETE FROM {table}")

    # -- end users and link sessions ------------------------------------------------------------

    def save_end_user(self, end_user_id: str, email: str, name: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO end_users (id, email, name, created_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET email=excluded.email, name=excluded.name",
                       (end_user_id, email, name, time.time()))

    def save_link_session(self, state: str, end_user_id: str, session_id: str | None) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO link_sessions VALUES (?, ?, ?, ?)",
                       (state, end_user_id, session_id, time.time()))

    def link_session(self, state: str) -> tuple[str, str | None] | None:
        rows = self._query("SELECT end_user_id, session_id FROM link_sessions WHERE state = ?", [state])
        return (rows[0]["end_user_id"], rows[0]["session_id"]) if rows else None

    # -- consents -------------------------------------------------------------------------------

    def upsert_consents(self, end_user_id: str, consents: list[dict]) -> None:
        now = time.time()
        with self.transaction() as db:
            for consent in consents:
                consent_id = consent.get("arrangement_id") or consent.get("id")
                if not consent_id:
                    continue
                db.execute(
                    "INSERT INTO consents (id, end_user_id, institution_id, active, raw, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET active=excluded.active, "
                    "institution_id=excluded.institution_id, raw=excluded.raw, updated_at=excluded.updated_at",
                    (str(consent_id), end_user_id, consent.get("institution_id"),
                     1 if consent.get("active") else 0, json.dumps(consent), now))

    def consents(self, end_user_id: str) -> list[tuple[str, bool]]:
        rows = self._query("SELECT id, active FROM consents WHERE end_user_id = ? AND deleted_at IS NULL "
                           "ORDER BY updated_at, id", [end_user_id])
        return [(row["id"], bool(row["active"])) for row in rows]

    def remove_consent_data(self, end_user_id: str, arrangement_ids: list[str], *, hard: bool) -> int:
        """Soft delete (or, with the hard_delete fault, delete) the data of ended consents."""
        if not arrangement_ids:
            return 0
        marks = ",".join("?" * len(arrangement_ids))
        now = time.time()
        touched = 0
        with self.transaction() as db:
            account_ids = [row[0] for row in db.execute(
                f"SELECT account_id FROM accounts WHERE end_user_id = ? AND arrangement_id IN ({marks}) "
                "AND account_id IS NOT NULL", (end_user_id, *arrangement_ids))]
            amarks = ",".join("?" * len(account_ids)) or "NULL"
            for table in DATA_TABLES:
                where = (f"end_user_id = ? AND (arrangement_id IN ({marks}) OR account_id IN ({amarks}))")
                args = (end_user_id, *arrangement_ids, *account_ids)
                if hard:
                    touched += db.execute(f"DELETE FROM {table} WHERE {where}", args).rowcount
                else:
                    touched += db.execute(f"UPDATE {table} SET deleted_at = ? WHERE {where} "
                                          "AND deleted_at IS NULL", (now, *args)).rowcount
        return touched

    # -- synced data ----------------------------------------------------------------------------

    def upsert_page(self, table: str, end_user_id: str, records: list[dict]) -> list[str]:
        """Write one page atomically; a record seen again is live again. Returns the keys written."""
        assert table in DATA_TABLES
        now = time.time()
        keys: list[str] = []
        with self.transaction() as db:
            for record in records:
                key = record_key(record, table)
                if key is None:
                    continue
                db.execute(
                    f"INSERT INTO {table} (id, end_user_id, arrangement_id, account_id, raw, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET raw=excluded.raw, "
                    "arrangement_id=excluded.arrangement_id, account_id=excluded.account_id, "
                    "updated_at=excluded.updated_at, deleted_at=NULL",
                    (key, end_user_id, record.get("arrangement_id"), record.get("account_id"),
                     json.dumps(record), now))
                keys.append(key)
        return keys

    def soft_delete_missing(self, table: str, end_user_id: str, seen: set[str]) -> int:
        """After a complete sync of `table`, mark live records Fiskil no longer returns as deleted."""
        assert table in DATA_TABLES
        now = time.time()
        with self.transaction() as db:
            live = [row[0] for row in db.execute(
                f"SELECT id FROM {table} WHERE end_user_id = ? AND deleted_at IS NULL", (end_user_id,))]
            gone = [key for key in live if key not in seen]
            for key in gone:
                db.execute(f"UPDATE {table} SET deleted_at = ? WHERE id = ?", (now, key))
        return len(gone)

    def count_live(self, table: str, end_user_id: str) -> int:
        assert table in DATA_TABLES
        rows = self._query(f"SELECT COUNT(*) FROM {table} WHERE end_user_id = ? AND deleted_at IS NULL",
                           [end_user_id])
        return int(rows[0][0])

    def count_all(self, table: str, end_user_id: str) -> int:
        """Rows including soft-deleted ones (tests tell soft from hard deletes with it)."""
        assert table in DATA_TABLES
        return int(self._query(f"SELECT COUNT(*) FROM {table} WHERE end_user_id = ?", [end_user_id])[0][0])

    # -- user-facing errors ---------------------------------------------------------------------

    def set_user_error(self, end_user_id: str, code: str, message: str, error_id: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO user_errors VALUES (?, ?, ?, ?, ?)",
                       (end_user_id, code, message, error_id, time.time()))

    def clear_user_error(self, end_user_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM user_errors WHERE end_user_id = ?", (end_user_id,))

    def user_error(self, end_user_id: str) -> StoredError | None:
        rows = self._query("SELECT code, message, error_id FROM user_errors WHERE end_user_id = ?",
                           [end_user_id])
        return StoredError(rows[0]["code"], rows[0]["message"], rows[0]["error_id"]) if rows else None

    # -- webhooks -------------------------------------------------------------------------------

    def claim_message(self, message_id: str, event: str | None, end_user_id: str | None) -> bool:
        """Record a webhook message id; False when it was already seen (a duplicate delivery)."""
        with self.transaction() as db:
            cursor = db.execute("INSERT OR IGNORE INTO webhook_events VALUES (?, ?, ?, ?)",
                                (message_id, event, end_user_id, time.time()))
            return cursor.rowcount == 1

    def record_processing(self, message_id: str, event: str | None, status: str, detail: str = "") -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO processed_webhooks (message_id, event, status, detail, processed_at) "
                       "VALUES (?, ?, ?, ?, ?)", (message_id, event, status, detail, time.time()))

    def processed_message_ids(self) -> list[str]:
        return [row[0] for row in self._query("SELECT message_id FROM processed_webhooks ORDER BY seq")]

    def received_message_ids(self) -> list[str]:
        return [row[0] for row in self._query("SELECT message_id FROM webhook_events ORDER BY received_at")]
