"""Accounts, passwords, personal API tokens, and enabling or disabling accounts (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.deps import CurrentUser, DbId, SessionDep
from app.routes.api.paging import PAGE_HEADERS, PageDep
from app.schemas import PasswordChangeIn, RegisterIn, TokenIn, TokenInfoOut, TokenOut, UserOut
from app.services import accounts
from app.throttle import LoginThrottleDep, SignUpThrottleDep

router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        429: {
            "description": "too many accounts were created from this address (`too_many_sign_ups`)"
            "; send it again after `Retry-After` seconds"
        }
    },
)
def register(
    body: RegisterIn, request: Request, session: SessionDep, throttle: SignUpThrottleDep
) -> UserOut:
    """Create a participant account (accounts per client address are throttled)."""
    user = throttle.attempt(
        request,
        lambda: accounts.register(
            session, username=body.username, password=body.password, email=body.email
        ),
    )
    return UserOut.model_validate(user)


@router.post("/token", status_code=status.HTTP_201_CREATED, response_model=TokenOut)
def create_token(
    body: TokenIn, request: Request, session: SessionDep, throttle: LoginThrottleDep
) -> TokenOut:
    """Exchange a username and password for a new personal API token (failures throttled)."""
    user = throttle.attempt(
        request,
        body.username,
        lambda: accounts.authenticate(session, username=body.username, password=body.password),
    )
    token, secret = accounts.create_token(session, user, name=body.name)
    return TokenOut(token=secret, id=token.id, name=token.name)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The caller's account."""
    return UserOut.model_validate(user)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    throttle: LoginThrottleDep,
) -> None:
    """Change the caller's password: every session ends and every API token is revoked."""
    throttle.attempt(
        request,
        user.username,
        lambda: accounts.change_password(
            session, user, current_password=body.current_password, new_password=body.new_password
        ),
    )


@router.get(
    "/tokens", response_model=list[TokenInfoOut], responses={200: {"headers": PAGE_HEADERS}}
)
def list_tokens(
    user: CurrentUser, session: SessionDep, page: PageDep, response: Response
) -> list[TokenInfoOut]:
    """The caller's tokens (never their secrets)."""
    tokens = page.apply(accounts.list_tokens(session, user), response)
    return [TokenInfoOut.model_validate(t) for t in tokens]


@router.delete("/tokens/{token_id}", response_model=TokenInfoOut)
def revoke_token(token_id: DbId, user: CurrentUser, session: SessionDep) -> TokenInfoOut:
    """Revoke one of the caller's tokens."""
    return TokenInfoOut.model_validate(accounts.revoke_token(session, user, token_id))


@users_router.post("/{username}/disable", response_model=UserOut)
def disable_user(username: str, user: CurrentUser, session: SessionDep) -> UserOut:
    """Disable an account (admins): its sessions end and its API tokens stop working."""
    return UserOut.model_validate(accounts.set_active(session, user, username, active=False))


@users_router.post("/{username}/enable", response_model=UserOut)
def enable_user(username: str, user: CurrentUser, session: SessionDep) -> UserOut:
    """Enable a disabled account again (admins); its old sessions stay ended."""
    return UserOut.model_validate(accounts.set_active(session, user, username, active=True))
