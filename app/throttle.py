"""Throttling of password guessing and of account creation, with the maintained ``limits``
library.

Failed log-ins are counted in a moving window per account and client address, per account and
per address. A real user is never locked out for longer than the window takes to move on,
and a successful log-in forgets the pair's failures. The counts live in memory in the
embedded mode and in Redis in scale-out mode, where every API replica shares them. While Redis
cannot be reached, each replica counts in its own memory instead (:class:`Counts`): log-ins
stay possible and throttled, and nothing answers 500.

The per-account limit is what a crowd of addresses could use to lock a user out, so a browser
that has logged in to the account before (it holds a signed "known device" cookie) is not
held to it; the limits per address and per pair still apply to it.

Accounts created are counted per client address (:class:`SignUpThrottle`), so one script
cannot fill the database with accounts; the default leaves room for a classroom behind one
address.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, WindowStats, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.config import Settings
from app.errors import AppError, InvalidCredentials
from app.services.accounts import WrongCurrentPassword

T = TypeVar("T")

LOGIN_THROTTLED = (
    "too many failed log-in attempts for this account or from this address; "
    "try again in {minutes} minute(s), or ask an administrator if you forgot your password"
)
SIGN_UPS_THROTTLED = (
    "too many accounts were created from this address; try again in {minutes} minute(s)"
)
FAILED_PASSWORD = (InvalidCredentials, WrongCurrentPassword)
"""The errors that count as a wrong password guess."""
MAX_KEY_CHARACTERS = 64
KNOWN_DEVICE_COOKIE = "fairboard_known_device"
KNOWN_DEVICE_MAX_AGE_SECONDS = 180 * 24 * 3600
STORE_TIMEOUT_SECONDS = 0.5
"""How long a log-in or sign-up waits on the shared store (Redis) before counting in memory."""
STORE_RETRY_SECONDS = 5.0
"""After the shared store failed, how long the counts stay in memory before it is tried again."""
STORE_UNREACHABLE = (
    "the throttle's shared store cannot be reached (%s): failed log-ins and sign-ups are "
    "counted in this process's memory until it answers again"
)
REDIS_SCHEMES = ("redis://", "rediss://", "redis+", "valkey://", "valkeys://", "valkey+")
"""Storage URLs whose client takes the time-outs below."""

logger = logging.getLogger("fairboard.throttle")


class Throttled(AppError):
    """A limit of this module reached: 429 with ``Retry-After``."""

    status_code = 429
    template: ClassVar[str]
    """The message, with ``{minutes}`` to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            self.template.format(minutes=math.ceil(retry_after / 60)), retry_after=retry_after
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class LoginThrottled(Throttled):
    code = "too_many_login_attempts"
    template = LOGIN_THROTTLED


class SignUpsThrottled(Throttled):
    code = "too_many_sign_ups"
    template = SIGN_UPS_THROTTLED


def _refuse_if_reached(
    limiter: Counts, counters: list[tuple[RateLimitItem, list[str]]], error: type[Throttled]
) -> None:
    """Raise ``error`` with the longest wait when any of ``counters`` is at its limit."""
    blocked = [(item, keys) for item, keys in counters if not limiter.test(item, *keys)]
    if blocked:
        resets = [limiter.get_window_stats(item, *keys).reset_time for item, keys in blocked]
        raise error(max(1, math.ceil(max(resets) - time.time())))


class LoginThrottle:
    """Counts failed password checks; refuses further checks once a limit is reached."""

    def __init__(self, settings: Settings, limiter: Counts) -> None:
        self.limiter = limiter
        self.per_pair = parse(settings.login_limit_per_account_and_address)
        self.per_account = parse(settings.login_limit_per_account)
        self.per_address = parse(settings.login_limit_per_address)
        self._devices = URLSafeTimedSerializer(settings.secret_key, salt="fairboard-known-device")
        self._secure_cookie = settings.uses_https

    def _counters(self, username: str, address: str) -> list[tuple[RateLimitItem, list[str]]]:
        account = username.strip().lower()[:MAX_KEY_CHARACTERS]
        return [
            (self.per_pair, ["fairboard-login-pair", account, address]),
            (self.per_account, ["fairboard-login-account", account]),
            (self.per_address, ["fairboard-login-address", address]),
        ]

    def attempt(self, request: Request, username: str, check: Callable[[], T]) -> T:
        """Run the password ``check`` for ``username`` by this request's client unless a limit
        is reached; count it if it fails."""
        counters = self._counters(username, client_address(request))
        applying = counters
        if self._known_device(request, username):
            applying = [(item, keys) for item, keys in counters if item is not self.per_account]
        _refuse_if_reached(self.limiter, applying, LoginThrottled)
        try:
            result = check()
        except FAILED_PASSWORD:
            for item, keys in counters:
                self.limiter.hit(item, *keys)
            raise
        pair_item, pair_keys = counters[0]
        self.limiter.clear(pair_item, *pair_keys)
        return result

    def _known_device(self, request: Request, username: str) -> bool:
        cookie = request.cookies.get(KNOWN_DEVICE_COOKIE)
        if not cookie:
            return False
        try:
            known = self._devices.loads(cookie, max_age=KNOWN_DEVICE_MAX_AGE_SECONDS)
        except BadSignature:
            return False
        return bool(known == username.strip().lower())

    def remember_device(self, response: Response, username: str) -> None:
        """Mark this browser as one that logged in to ``username``."""
        response.set_cookie(
            KNOWN_DEVICE_COOKIE,
            self._devices.dumps(username),
            max_age=KNOWN_DEVICE_MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self._secure_cookie,
        )


class SignUpThrottle:
    """Counts the accounts created from each client address; refuses more past the limit."""

    def __init__(self, settings: Settings, limiter: Counts) -> None:
        self.limiter = limiter
        self.per_address = parse(settings.signup_limit_per_address)

    def attempt(self, request: Request, create: Callable[[], T]) -> T:
        """Run ``create`` (the account's creation) unless this address reached its limit;
        count it if it succeeds (a refused username or password costs nothing)."""
        keys = ["fairboard-signup-address", client_address(request)]
        _refuse_if_reached(self.limiter, [(self.per_address, keys)], SignUpsThrottled)
        created = create()
        self.limiter.hit(self.per_address, *keys)
        return created


class Counts:
    """A moving-window limiter on the configured store, falling back to this process's memory
    while a shared store (Redis) fails: a store that is down or slow costs a log-in at most
    :data:`STORE_TIMEOUT_SECONDS`, then none for :data:`STORE_RETRY_SECONDS`. Failures counted in
    memory meanwhile stay there: the shared counts resume from what they held."""

    def __init__(self, url: str) -> None:
        local = MemoryStorage()
        self._local = MovingWindowRateLimiter(local)
        self._shared: MovingWindowRateLimiter | None = None
        if not url.startswith("memory://"):
            options: dict[str, Any] = {}
            if url.startswith(REDIS_SCHEMES):
                options = {
                    "socket_timeout": STORE_TIMEOUT_SECONDS,
                    "socket_connect_timeout": STORE_TIMEOUT_SECONDS,
                }
            storage = storage_from_string(url, wrap_exceptions=True, **options)
            self._shared = MovingWindowRateLimiter(storage)
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def test(self, item: RateLimitItem, *keys: str) -> bool:
        return self._run(lambda limiter: limiter.test(item, *keys))

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        return self._run(lambda limiter: limiter.hit(item, *keys))

    def clear(self, item: RateLimitItem, *keys: str) -> None:
        self._run(lambda limiter: limiter.clear(item, *keys))

    def get_window_stats(self, item: RateLimitItem, *keys: str) -> WindowStats:
        return self._run(lambda limiter: limiter.get_window_stats(item, *keys))

    def _run(self, call: Callable[[MovingWindowRateLimiter], T]) -> T:
        if self._shared is None or not self._shared_due():
            return call(self._local)
        try:
            result = call(self._shared)
        except StorageError as error:
            with self._lock:
                if self._failed_at is None:
                    logger.warning(STORE_UNREACHABLE, error.storage_error)
                self._failed_at = time.monotonic()
            return call(self._local)
        if self._failed_at is not None:
            with self._lock:
                self._failed_at = None
            logger.info("the throttle's shared store answers again: counting there")
        return result

    def _shared_due(self) -> bool:
        failed_at = self._failed_at
        return failed_at is None or time.monotonic() - failed_at >= STORE_RETRY_SECONDS


def client_address(request: Request) -> str:
    """The caller's address as the server sees it: uvicorn puts the ``X-Forwarded-For``
    client here when the peer is in its ``FORWARDED_ALLOW_IPS`` (docs/SECURITY.md)."""
    return request.client.host if request.client else "unknown"


def get_login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]


async def get_signup_throttle(request: Request) -> SignUpThrottle:
    throttle: SignUpThrottle = request.app.state.signup_throttle
    return throttle


SignUpThrottleDep = Annotated[SignUpThrottle, Depends(get_signup_throttle)]
