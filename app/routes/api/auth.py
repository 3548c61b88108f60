"""Accounts and personal API tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import CurrentUser, DbId, SessionDep
from app.schemas import RegisterIn, TokenIn, TokenInfoOut, TokenOut, UserOut
from app.services import accounts

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def register(body: RegisterIn, session: SessionDep) -> UserOut:
    """Create a participant account."""
    user = accounts.register(
        session, username=body.username, password=body.password, email=body.email
    )
    return UserOut.model_validate(user)


@router.post("/token", status_code=status.HTTP_201_CREATED, response_model=TokenOut)
def create_token(body: TokenIn, session: SessionDep) -> TokenOut:
    """Exchange a username and password for a new personal API token."""
    user = accounts.authenticate(session, username=body.username, password=body.password)
    token, secret = accounts.create_token(session, user, name=body.name)
    return TokenOut(token=secret, id=token.id, name=token.name)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The caller's account."""
    return UserOut.model_validate(user)


@router.get("/tokens", response_model=list[TokenInfoOut])
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenInfoOut]:
    """The caller's tokens (never their secrets)."""
    return [TokenInfoOut.model_validate(t) for t in accounts.list_tokens(session, user)]


@router.delete("/tokens/{token_id}", response_model=TokenInfoOut)
def revoke_token(token_id: DbId, user: CurrentUser, session: SessionDep) -> TokenInfoOut:
    """Revoke one of the caller's tokens."""
    return TokenInfoOut.model_validate(accounts.revoke_token(session, user, token_id))
