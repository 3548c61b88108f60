"""Password hashing and strength, API token material and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
TOKEN_PREFIX = "fb_"
STRENGTH_MAX_CHARACTERS = 72
"""zxcvbn refuses longer input (its cost grows fast); a password whose first 72 characters
are hard to guess is hard to guess."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the user does not exist, so that a login attempt takes the
# same time whether or not the username is known.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def password_strength(password: str, *, user_inputs: list[str]) -> int:
    """zxcvbn's score from 0 (guessed at once) to 4, knowing the account's own words."""
    result = zxcvbn(password[:STRENGTH_MAX_CHARACTERS], user_inputs=user_inputs)
    return int(result["score"])


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def secrets_match(expected: str | None, given: str | None) -> bool:
    """Both present and equal, compared in constant time."""
    if not expected or not given:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters, which anyone can send.
    return hmac.compare_digest(str(expected).encode(), str(given).encode())


csrf_matches = secrets_match
