"""Accounts: registration, log-in, passwords, sessions, disabling and personal API tokens."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.db import utcnow, write_aside
from app.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from app.models import ApiToken, Role, User
from app.security import (
    burn_password_check,
    hash_password,
    new_api_token,
    password_strength,
    token_digest,
    verify_password,
)
from app.services.listing import Pager, WindowT, fetch_page

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
MIN_PASSWORD_STRENGTH = 3
TOKEN_USE_WAIT_MS = 100
"""How long recording a token's last use may wait for SQLite's write lock before skipping."""

log = logging.getLogger("fairboard.accounts")
"""zxcvbn score (0-4) a new password needs: 3 is 'safely unguessable' for an online attack."""

USERNAME_INVALID = (
    "username must be 3 to 32 characters: letters, digits, '_', '.' or '-', "
    "starting with a letter or digit"
)
USERNAME_TAKEN = "username {username!r} is already taken"
EMAIL_INVALID = "email {email!r} is not a valid e-mail address"
PASSWORD_TOO_SHORT = f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
PASSWORD_TOO_WEAK = (
    "this password is too easy to guess (a common password, a repeated or keyboard pattern, "
    "or your username or e-mail with a few characters added); choose a passphrase of three or "
    "four unrelated words, e.g. 'copper-lantern-orbit'"
)
CURRENT_PASSWORD_WRONG = "the current password is wrong"
LOGIN_FAILED = "unknown username or wrong password"
ADMIN_ONLY = "only administrators can enable or disable accounts"
OUTBOX_ADMIN_ONLY = "only administrators can read the e-mail outbox"
CANNOT_DISABLE_SELF = "you cannot disable your own account"
USER_NOT_FOUND = "user {username!r} not found"
TOKEN_NOT_FOUND = "token {id} not found"
TOKEN_INVALID = "the API token is invalid or has been revoked"


class WrongCurrentPassword(InvalidInput):
    """A password change whose current password is wrong: counted as a failed log-in."""

    code = "current_password_wrong"


def register(
    session: Session,
    *,
    username: str,
    password: str,
    email: str,
    role: Role = Role.PARTICIPANT,
) -> User:
    """Create an account; usernames are unique case-insensitively."""
    normalized = username.strip().lower()
    if not USERNAME_RE.match(normalized):
        raise InvalidInput(USERNAME_INVALID, field="username")
    if not EMAIL_RE.match(email.strip()):
        raise InvalidInput(EMAIL_INVALID.format(email=email), field="email")
    check_new_password(password, username=normalized, email=email.strip())
    if session.scalar(select(func.count()).where(User.username == normalized)):
        raise Conflict(USERNAME_TAKEN.format(username=normalized), field="username")
    user = User(
        username=normalized, email=email.strip(), password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    return user


def check_new_password(password: str, *, username: str, email: str) -> None:
    """Refuse a password that is short or that zxcvbn rates easy to guess for this account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(PASSWORD_TOO_SHORT, field="password")
    user_inputs = [username, email, email.partition("@")[0]]
    if password_strength(password, user_inputs=user_inputs) < MIN_PASSWORD_STRENGTH:
        raise InvalidInput(PASSWORD_TOO_WEAK, field="password")


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The active user with these credentials, else InvalidCredentials."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        burn_password_check(password)
        raise InvalidCredentials(LOGIN_FAILED)
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise InvalidCredentials(LOGIN_FAILED)
    return user


def session_user(session: Session, user_id: int, version: object) -> User | None:
    """The active user a cookie session belongs to, unless the session has been ended."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every cookie session of ``user``: each carries the version it was started with."""
    user.session_version += 1


def change_password(
    session: Session, user: User, *, current_password: str, new_password: str
) -> None:
    """Set a new password; every session ends and every API token is revoked, since a password
    is usually changed because someone else may know it."""
    if not verify_password(user.password_hash, current_password):
        raise WrongCurrentPassword(CURRENT_PASSWORD_WRONG, field="current_password")
    replace_password(session, user, new_password)


def replace_password(session: Session, user: User, new_password: str) -> None:
    """Set a checked new password, end every session and revoke every API token."""
    check_new_password(new_password, username=user.username, email=user.email)
    user.password_hash = hash_password(new_password)
    end_sessions(user)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def require_admin(user: User, message: str) -> None:
    """Refuse anyone but an administrator, saying what they may not do."""
    if user.role != Role.ADMIN:
        raise Forbidden(message)


def set_active(session: Session, admin: User, username: str, *, active: bool) -> User:
    """Enable or disable an account (admins only); disabling ends its sessions and its API
    tokens stop working until it is enabled again."""
    require_admin(admin, ADMIN_ONLY)
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(USER_NOT_FOUND.format(username=username))
    if user.id == admin.id and not active:
        raise InvalidInput(CANNOT_DISABLE_SELF, field="username")
    if user.is_active and not active:
        end_sessions(user)
    user.is_active = active
    return user


def create_token(session: Session, user: User, *, name: str = "api") -> tuple[ApiToken, str]:
    """A new personal API token; the secret is returned once and only its hash is kept."""
    secret = new_api_token()
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "api",
        token_hash=token_digest(secret),
        prefix=secret[:10],
    )
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def tokens_page(
    session: Session, user: User, pager: Pager[WindowT]
) -> tuple[WindowT, list[ApiToken]]:
    """One page of the user's tokens, newest first, revoked ones included (a script that logs
    in at every run makes many)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    window, rows = fetch_page(session, query, pager)
    return window, [row[0] for row in rows]


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(TOKEN_NOT_FOUND.format(id=token_id))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def user_for_token(session: Session, secret: str) -> User:
    """The owner of a valid, unrevoked token."""
    # One statement for both rows: every API request with a token makes it.
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(secret))
    ).one_or_none()
    if found is None:
        raise NotAuthenticated(TOKEN_INVALID)
    token, user = found
    if token.revoked_at is not None or not user.is_active:
        raise NotAuthenticated(TOKEN_INVALID)
    now = utcnow()
    # Recording every use would turn each API read into a write; minute precision is enough.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        _note_use(session, token, now)
    return user


def _note_use(session: Session, token: ApiToken, now: datetime) -> None:
    """Record a token's use aside, committed at once: written in the request's own transaction
    it held the write lock until the response (other writers waited, SQLite's up to 30 s).
    Best effort: a busy database skips it, the next use a minute on records it."""
    statement = update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
    try:
        write_aside(session, lambda side: side.execute(statement), wait_ms=TOKEN_USE_WAIT_MS)
    except SQLAlchemyError:
        log.info("token %s: its last use was not recorded (database busy)", token.prefix)
        return
    set_committed_value(token, "last_used_at", now)
