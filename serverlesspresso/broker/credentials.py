"""The backend's own broker credential: a random password the parent process generates and keeps in a 0600 file."""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

BACKEND_USERNAME = "serverlesspresso-backend"


@dataclass(frozen=True)
class InternalCredentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"InternalCredentials(username={self.username!r}, password=<hidden>)"

    @classmethod
    def generate(cls, username: str = BACKEND_USERNAME) -> InternalCredentials:
        return cls(username=username, password=secrets.token_urlsafe(32))

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write {"username", "password"} atomically, readable by the owner only."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"username": self.username, "password": self.password}, handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> InternalCredentials:
        """Read the file; refuse one that group or others may read (it holds a password)."""
        source = Path(path)
        mode = source.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ValueError(f"{source} is accessible by group/others (mode {stat.filemode(mode)}); chmod 600 it")
        data = json.loads(source.read_text())
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not username or not isinstance(password, str) or len(password) < 16:
            raise ValueError(
                f"{source} must hold a JSON object with a non-empty 'username' and a 'password' of 16+ chars"
            )
        return cls(username=username, password=password)

    @classmethod
    def create(cls, path: str | os.PathLike[str], username: str = BACKEND_USERNAME) -> InternalCredentials:
        """Generate a fresh credential and write it to `path` (what the parent does before starting the broker)."""
        credentials = cls.generate(username)
        credentials.write(path)
        return credentials
