"""The sqlite sign-in store: round trips, private files, WAL, two processes at once, and kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from serverlesspresso.signin.rules import Attempt
from serverlesspresso.signin.store import MissingStore, OutboxEntry, RefreshGrant, SignInStore, User

REPO_ROOT = Path(__file__).resolve().parents[2]
PHONE = "+14155550123"


def test_users_round_trip_by_phone_and_by_sub(store: SignInStore) -> None:
    with store.transaction() as tx:
        tx.add_user(User("sub-1", PHONE, 1.0))
    with store.transaction(write=False) as tx:
        assert tx.user_by_phone(PHONE) == User("sub-1", PHONE, 1.0)
        assert tx.user_by_sub("sub-1") == User("sub-1", PHONE, 1.0)
        assert tx.user_by_phone("+12025550199") is None


def test_a_phone_belongs_to_one_user(store: SignInStore) -> None:
    with store.transaction() as tx:
        tx.add_user(User("sub-1", PHONE, 1.0))
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as tx:
        tx.add_user(User("sub-2", PHONE, 2.0))


def test_a_failed_transaction_changes_nothing(store: SignInStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add_admin(PHONE, 1.0)
        raise RuntimeError("boom")
    with store.transaction(write=False) as tx:
        assert tx.admins() == []


def test_admins_may_exist_before_their_user(store: SignInStore) -> None:
    with store.transaction() as tx:
        assert tx.add_admin(PHONE, 5.0) is True
        assert tx.add_admin(PHONE, 6.0) is False
        assert tx.add_admin("+12025550199", 7.0) is True
    with store.transaction() as tx:
        tx.add_user(User("sub-1", PHONE, 8.0))
    with store.transaction() as tx:
        assert [(a.phone, a.sub) for a in tx.admins()] == [(PHONE, "sub-1"), ("+12025550199", None)]
        assert tx.is_admin(PHONE)
        assert tx.remove_admin(PHONE) is True and tx.remove_admin(PHONE) is False
        assert not tx.is_admin(PHONE)


def test_attempts_round_trip_and_old_ones_are_forgotten(store: SignInStore) -> None:
    attempt = Attempt("sub-1", PHONE, 100.0, "digest", 2, False)
    with store.transaction() as tx:
        tx.save_attempt("s1", attempt)
        tx.save_attempt("s2", Attempt("sub-1", PHONE, 300.0, None, 0, True))
    with store.transaction() as tx:
        assert tx.attempt("s1") == attempt
        assert tx.attempt("s2") == Attempt("sub-1", PHONE, 300.0, None, 0, True)
        tx.forget_attempts_expired_before(200.0)
    with store.transaction(write=False) as tx:
        assert tx.attempt("s1") is None and tx.attempt("s2") is not None


def test_outbox_keeps_order_and_filters_by_phone(store: SignInStore) -> None:
    entries = [OutboxEntry(PHONE, "111111", 10.0, 190.0), OutboxEntry("+12025550199", "222222", 11.0, 191.0)]
    with store.transaction() as tx:
        for entry in entries:
            tx.add_to_outbox(entry)
        tx.add_to_outbox(OutboxEntry(PHONE, "333333", 12.0, 192.0))
    with store.transaction(write=False) as tx:
        assert [e.code for e in tx.outbox()] == ["111111", "222222", "333333"]
        assert [e.code for e in tx.outbox(PHONE)] == ["111111", "333333"]
        assert tx.codes_sent_since(PHONE, 11.0) == [12.0]


def test_refresh_grants_are_revocable_one_by_one_or_all(store: SignInStore) -> None:
    with store.transaction() as tx:
        tx.add_refresh_token("d1", RefreshGrant("sub-1", "o1", "e1", 1, 1000.0))
        tx.add_refresh_token("d2", RefreshGrant("sub-1", "o2", "e2", 2, 1000.0))
        tx.add_refresh_token("d3", RefreshGrant("sub-2", "o3", "e3", 3, 1000.0))
    with store.transaction() as tx:
        tx.revoke_refresh_token("d1", 50.0)
        assert tx.refresh_grant("d1") == RefreshGrant("sub-1", "o1", "e1", 1, 1000.0, 50.0)
        assert tx.is_revoked("o1") and not tx.is_revoked("o2") and tx.is_revoked("unknown")
        tx.revoke_all_refresh_tokens("sub-1", 60.0)
        assert tx.refresh_grant("d1").revoked_at == 50.0  # the first revocation stands
        assert tx.is_revoked("o2") and not tx.is_revoked("o3")


def test_files_are_private_and_in_wal_mode(tmp_path: Path) -> None:
    store = SignInStore.in_data_dir(tmp_path)
    with store.transaction() as tx:
        tx.add_admin(PHONE, 1.0)
    files = sorted((tmp_path / "identity").iterdir())
    assert {f.name for f in files} >= {"signin.db", "signin.db-wal", "signin.db-shm"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    with sqlite3.connect(tmp_path / "identity" / "signin.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_an_existing_file_is_made_private(tmp_path: Path) -> None:
    (tmp_path / "identity").mkdir()
    path = tmp_path / "identity" / "signin.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    SignInStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_cli_side_refuses_a_data_dir_up_never_used(tmp_path: Path) -> None:
    with pytest.raises(MissingStore, match="run 'serverlesspresso up --data-dir"):
        SignInStore.in_data_dir(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_write_at_once_without_losing_anything(tmp_path: Path) -> None:
    store = SignInStore.in_data_dir(tmp_path)
    writer = _python(
        """
        import sys
        from pathlib import Path
        from serverlesspresso.signin.store import SignInStore
        store = SignInStore.in_data_dir(Path(sys.argv[1]))
        for i in range(150):
            with store.transaction() as tx:
                tx.add_admin(f"+1202555{i:04d}", float(i))
        """,
        str(tmp_path),
    )
    for i in range(150):
        with store.transaction() as tx:
            # A read-then-write, as the limit checks do: the other process must not slip in between.
            sent = tx.codes_sent_since(PHONE, 0.0)
            tx.add_to_outbox(OutboxEntry(PHONE, f"{len(sent):06d}", float(i), float(i)))
    _, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors
    with store.transaction(write=False) as tx:
        assert len(tx.admins()) == 150
        assert [e.code for e in tx.outbox()] == [f"{i:06d}" for i in range(150)]
    store.close()


def test_a_commit_survives_kill_9(tmp_path: Path) -> None:
    writer = _python(
        """
        import sys, time
        from pathlib import Path
        from serverlesspresso.signin.store import SignInStore, User
        store = SignInStore.in_data_dir(Path(sys.argv[1]))
        with store.transaction() as tx:
            tx.add_user(User("sub-1", "+14155550123", 1.0))
            tx.add_admin("+14155550123", 1.0)
        print("committed", flush=True)
        time.sleep(60)
        """,
        str(tmp_path),
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "committed"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    store = SignInStore.in_data_dir(tmp_path)
    with store.transaction(write=False) as tx:
        assert tx.user_by_phone(PHONE) is not None and tx.is_admin(PHONE)
    store.close()
