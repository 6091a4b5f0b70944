"""The sign-in store: sqlite3 (WAL, mode 0600) in `<data-dir>/identity/`, shared safely by `up` and the CLI."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from serverlesspresso.signin.rules import Attempt

FILE_NAME = "signin.db"
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    sub TEXT PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS admins (
    phone TEXT PRIMARY KEY,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    session_digest TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    phone TEXT NOT NULL,
    expires_at REAL NOT NULL,
    code_digest TEXT,
    wrong_answers INTEGER NOT NULL,
    ended INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_digest TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    origin_jti TEXT NOT NULL,
    event_id TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_sub ON refresh_tokens (sub);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_origin ON refresh_tokens (origin_jti);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    code TEXT NOT NULL,
    sent_at REAL NOT NULL,
    valid_until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_phone ON outbox (phone, sent_at);
"""


@dataclass(frozen=True)
class User:
    sub: str
    phone: str
    created_at: float


@dataclass(frozen=True)
class Admin:
    phone: str
    added_at: float
    sub: str | None  # None until that phone signs up


@dataclass(frozen=True)
class OutboxEntry:
    phone: str
    code: str
    sent_at: float
    valid_until: float


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for: one sign-in of one person (`origin_jti` names it in every token)."""

    sub: str
    origin_jti: str
    event_id: str
    auth_time: int
    expires_at: float
    revoked_at: float | None = None


class MissingStore(FileNotFoundError):
    pass


class Transaction:
    """Reads and writes inside one sqlite transaction; the store commits it, or rolls it back on error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    # ----- users and admins ---------------------------------------------------------------------

    def user_by_phone(self, phone: str) -> User | None:
        row = self._db.execute("SELECT sub, phone, created_at FROM users WHERE phone = ?", (phone,)).fetchone()
        return None if row is None else User(*row)

    def user_by_sub(self, sub: str) -> User | None:
        row = self._db.execute("SELECT sub, phone, created_at FROM users WHERE sub = ?", (sub,)).fetchone()
        return None if row is None else User(*row)

    def add_user(self, user: User) -> None:
        self._db.execute("INSERT INTO users VALUES (?, ?, ?)", (user.sub, user.phone, user.created_at))

    def is_admin(self, phone: str) -> bool:
        return self._db.execute("SELECT 1 FROM admins WHERE phone = ?", (phone,)).fetchone() is not None

    def add_admin(self, phone: str, now: float) -> bool:
        """False when the phone already was an admin."""
        return self._db.execute("INSERT OR IGNORE INTO admins VALUES (?, ?)", (phone, now)).rowcount == 1

    def remove_admin(self, phone: str) -> bool:
        return self._db.execute("DELETE FROM admins WHERE phone = ?", (phone,)).rowcount == 1

    def admins(self) -> list[Admin]:
        rows = self._db.execute(
            "SELECT a.phone, a.added_at, u.sub FROM admins a LEFT JOIN users u ON u.phone = a.phone "
            "ORDER BY a.added_at, a.phone"
        ).fetchall()
        return [Admin(*row) for row in rows]

    # ----- sign-in attempts ---------------------------------------------------------------------

    def attempt(self, session_digest: str) -> Attempt | None:
        row = self._db.execute(
            "SELECT sub, phone, expires_at, code_digest, wrong_answers, ended FROM attempts WHERE session_digest = ?",
            (session_digest,),
        ).fetchone()
        if row is None:
            return None
        sub, phone, expires_at, code_digest, wrong_answers, ended = row
        return Attempt(sub, phone, expires_at, code_digest, wrong_answers, bool(ended))

    def save_attempt(self, session_digest: str, attempt: Attempt) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session_digest,
                attempt.sub,
                attempt.phone,
                attempt.expires_at,
                attempt.code_digest,
                attempt.wrong_answers,
                int(attempt.ended),
            ),
        )

    def forget_attempts_expired_before(self, moment: float) -> None:
        self._db.execute("DELETE FROM attempts WHERE expires_at < ?", (moment,))

    # ----- the code outbox ----------------------------------------------------------------------

    def add_to_outbox(self, entry: OutboxEntry) -> None:
        self._db.execute(
            "INSERT INTO outbox (phone, code, sent_at, valid_until) VALUES (?, ?, ?, ?)",
            (entry.phone, entry.code, entry.sent_at, entry.valid_until),
        )

    def codes_sent_since(self, phone: str, since: float) -> list[float]:
        rows = self._db.execute(
            "SELECT sent_at FROM outbox WHERE phone = ? AND sent_at >= ? ORDER BY sent_at", (phone, since)
        ).fetchall()
        return [row[0] for row in rows]

    def outbox(self, phone: str | None = None) -> list[OutboxEntry]:
        query = "SELECT phone, code, sent_at, valid_until FROM outbox"
        rows = self._db.execute(
            query + " WHERE phone = ? ORDER BY id" if phone else query + " ORDER BY id", (phone,) if phone else ()
        ).fetchall()
        return [OutboxEntry(*row) for row in rows]

    # ----- refresh tokens -----------------------------------------------------------------------

    def add_refresh_token(self, token_digest: str, grant: RefreshGrant) -> None:
        self._db.execute(
            "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                token_digest,
                grant.sub,
                grant.origin_jti,
                grant.event_id,
                grant.auth_time,
                grant.expires_at,
                grant.revoked_at,
            ),
        )

    def refresh_grant(self, token_digest: str) -> RefreshGrant | None:
        row = self._db.execute(
            "SELECT sub, origin_jti, event_id, auth_time, expires_at, revoked_at FROM refresh_tokens "
            "WHERE token_digest = ?",
            (token_digest,),
        ).fetchone()
        return None if row is None else RefreshGrant(*row)

    def revoke_refresh_token(self, token_digest: str, now: float) -> None:
        self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE token_digest = ? AND revoked_at IS NULL",
            (now, token_digest),
        )

    def revoke_all_refresh_tokens(self, sub: str, now: float) -> None:
        self._db.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE sub = ? AND revoked_at IS NULL", (now, sub))

    def is_revoked(self, origin_jti: str) -> bool:
        """Whether the sign-in that `origin_jti` names was signed out (its tokens are then refused)."""
        row = self._db.execute("SELECT revoked_at FROM refresh_tokens WHERE origin_jti = ?", (origin_jti,)).fetchone()
        return row is None or row[0] is not None


class SignInStore:
    """One connection per store, used by one thread at a time; other processes coordinate through sqlite locks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file private before sqlite opens it; sqlite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before the caller hears of it (kill -9 alone would not need it; power loss does).
        self._db.execute("PRAGMA synchronous = FULL")
        with self.transaction():
            for statement in _statements(_SCHEMA):
                self._db.execute(statement)

    @classmethod
    def in_data_dir(cls, data_dir: Path, create: bool = True) -> SignInStore:
        """The store of a data directory; with `create=False`, only if `up` has set that directory up."""
        identity = data_dir / "identity"
        if not create and not identity.is_dir():
            raise MissingStore(
                f"no local identity in {identity}; run 'serverlesspresso up --data-dir {data_dir}' first "
                "(or pass the --data-dir that 'up' uses)"
            )
        return cls(identity / FILE_NAME)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        # IMMEDIATE takes the write lock up front, so a read-then-write (a limit check, a wrong answer)
        # cannot interleave with another process's.
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]
