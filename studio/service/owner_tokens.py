"""Owner tokens the server issues and signs, so a session can only adopt a token this studio gave out.

    tokens = OwnerTokens.for_settings(settings)   # secret from STUDIO_SECRET, or <runs>/.owner-secret (0600)
    token = tokens.issue()                        # "<32 hex>.<32 hex>": a random id and its HMAC-SHA256
    tokens.valid(token)                           # True only for a token signed with this secret

A token is what lets a browser stop, rename and delete the runs it started. The page keeps
it in localStorage and hands it back on reload; without a signature any 32-hex string sent
to that private event would have been adopted. The secret lives outside the browser and
survives restarts (Spaces sleep), so tokens given out before a restart stay valid.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

SECRET_FILE = ".owner-secret"
MIN_SECRET_CHARS = 32   # a file with less is not a secret to sign with (one we write has 64 hex characters)
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")


class OwnerTokens:
    def __init__(self, secret: str | bytes):
        if not secret:
            raise ValueError("Owner tokens need a non-empty secret.")
        self._key = secret.encode() if isinstance(secret, str) else bytes(secret)

    @classmethod
    def for_settings(cls, settings) -> OwnerTokens:
        return cls(settings.secret or load_or_create_secret(Path(settings.runs_dir)))

    def issue(self) -> str:
        ident = secrets.token_hex(16)
        return f"{ident}.{self._sign(ident)}"

    def valid(self, token) -> bool:
        if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
            return False
        ident, signature = token.split(".")
        return hmac.compare_digest(signature, self._sign(ident))

    def _sign(self, ident: str) -> str:
        return hmac.new(self._key, ident.encode(), hashlib.sha256).hexdigest()[:32]


def load_or_create_secret(runs_dir: Path) -> str:
    """The runs folder's signing secret, created once with owner-only permissions (0600).

    A file too short to be one (empty after a crash mid-write, or edited by hand) is never used as a
    key: it is replaced, as if there were none."""
    path = runs_dir / SECRET_FILE
    found = _read_file(path)
    if found is not None and len(found) >= MIN_SECRET_CHARS:
        return found
    runs_dir.mkdir(parents=True, exist_ok=True)
    if found is not None:
        # A damaged file goes; a missing one is left to the link below, which lets one process's secret stand
        # when several start at once. (Two starting at the same moment on a damaged file could each remove
        # the other's fresh secret: rare, and a restart settles it.)
        path.unlink(missing_ok=True)
    secret = secrets.token_hex(32)
    # Created 0600 from the start (no window where others could read it), on disk before it is linked
    # into place (a crash never leaves an empty secret), then linked: if another process made one
    # meanwhile, the link fails and theirs is used.
    temp = runs_dir / f"{SECRET_FILE}.tmp-{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temp, path)
    except FileExistsError:
        temp.unlink()
        theirs = _read_file(path)
        if theirs is None or len(theirs) < MIN_SECRET_CHARS:
            raise RuntimeError(f"{path} is not a usable owner secret (too short); remove it and start again.") from None
        return theirs
    temp.unlink()
    return secret


def _read_file(path: Path) -> str | None:
    """The stripped text of `path`, None when there is no such file."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def owner_hash(owner: str) -> str:
    """What run.json keeps of a session's token: enough to match it, useless to steal."""
    return hashlib.sha256(owner.encode()).hexdigest()[:24] if owner else ""
