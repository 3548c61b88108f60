"""The fuzz tests run the real app on the embedded default, with the service's own fixtures."""

from tests.app.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    db,
    fast_password_hashing,
    settings,
    synthetic_source,
    world,
)
