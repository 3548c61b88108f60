"""The application factory: settings, database, job runner, routers and error rendering."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import notifications
from app.admission import Admission
from app.config import Settings, get_settings
from app.db import Database
from app.downloads import DEFAULT_TYPE as DEFAULT_DOWNLOAD_TYPE
from app.errors import AppError, InvalidCredentials, NotAuthenticated
from app.http_security import SecurityHeadersMiddleware
from app.jobs.dispatch import make_dispatcher
from app.logs import configure_logging
from app.routes.conditional import GZIP_MINIMUM
from app.routes.pages.board_revalidation import PageRevalidation
from app.services import inputs, interval_process
from app.throttle import Counts, LoginThrottle, SignUpThrottle
from app.uploads import UploadGuard

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("fairboard")

GC_THRESHOLDS = (10_000, 10, 10)
"""A server process's collector thresholds: a submission's request allocates about 4,000
objects, which at Python's default (700) ran 5 or 6 young collections in each (0.45 ms of it,
``bench/README.md``); at 10,000 they cost a fifth of that. The older generations keep their
defaults, counted in young collections."""


def serving(app: FastAPI) -> FastAPI:
    """Prepare ``app`` for a server process of its own (``fairboard serve``).

    What is loaded before serving (modules, models, the app) lives as long as the process:
    it is frozen out of the cyclic garbage collector's full passes, each of which took about
    100 ms of a request now and then, and young collections run less often
    (:data:`GC_THRESHOLDS`). And the interval child process ends with the server (test apps,
    many to a process, share one and leave it be).
    """
    app.state.serving = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app


def served_app() -> FastAPI:
    """The app of a server process (``uvicorn --factory app.main:served_app``, one per worker)."""
    return serving(create_app())


def create_app(settings: Settings | None = None, *, start_jobs: bool = True) -> FastAPI:
    """Build the ASGI app; the database must already be migrated (``fairboard migrate``)."""
    settings = settings or get_settings()
    configure_logging(json_lines=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for folder in (settings.data_dir, settings.uploads_dir, settings.testsets_dir):
            folder.mkdir(parents=True, exist_ok=True)
        builds = None
        if start_jobs:
            app.state.jobs.start()
            # Test inputs that a crash, an upgrade or a seeder left unbuilt, off the request path.
            builds = inputs.start_builds(app.state.db.sessionmaker, settings)
        try:
            yield
        finally:
            if builds is not None:
                builds.stop()
            app.state.jobs.shutdown()
            if app.state.serving:
                interval_process.shutdown()
            app.state.db.dispose()

    app = FastAPI(
        title="Fairboard",
        version="1.0",
        description="Scoring and leaderboards for fair apparent-age estimation competitions.",
        lifespan=lifespan,
        # Served by app.routes.docs from bundled assets: FastAPI's own pages load a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = Database(settings.database_url)
    notifications.install(app.state.db.sessionmaker, settings)
    app.state.jobs = make_dispatcher(app.state.db, settings)
    counts = Counts(settings.limit_storage_url)
    app.state.login_throttle = LoginThrottle(settings, counts)
    app.state.signup_throttle = SignUpThrottle(settings, counts)
    app.state.admission = Admission(
        settings.max_concurrent_submissions, settings.max_concurrent_submissions_per_user
    )
    app.state.serving = False

    # Inside the session middleware, so an upload's cookie login is known before its body is read.
    app.add_middleware(UploadGuard)
    # Inside the session middleware too: a 304 for a page made for a logged-in viewer.
    app.add_middleware(PageRevalidation)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="fairboard_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.uses_https,
    )
    # Pages, CSV and JSON over 1 KB go compressed; zips and partial responses do not.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=GZIP_MINIMUM,
        compresslevel=6,
        # Stored uploads (models, archives) go whole, with their length known.
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, DEFAULT_DOWNLOAD_TYPE),
    )
    if settings.trusted_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    # Outermost, so that every response gets the headers, a refused Host's included.
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.uses_https)
    _install_error_handlers(app)

    from app.routes.api import router as api_router
    from app.routes.docs import DOCS_ASSETS_DIR, DOCS_ASSETS_PATH
    from app.routes.docs import router as docs_router
    from app.routes.ops import router as ops_router
    from app.routes.pages import router as pages_router

    app.include_router(api_router)
    app.include_router(ops_router)
    app.include_router(docs_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")
    return app


def _wants_json(request: Request) -> bool:
    """The API answers errors in JSON; everything else is a page."""
    return request.url.path.startswith("/api/")


def _form_page(request: Request) -> str | None:
    """Where to come back to after logging in: this page, or for a form post the page it was
    posted from (a POST action cannot be loaded with GET)."""
    if request.method == "GET":
        return None
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = not referer.netloc or referer.netloc == request.url.netloc
    path = referer.path if same_site and referer.path.startswith("/") else "/"
    return path + (f"?{referer.query}" if same_site and referer.query else "")


def _install_error_handlers(app: FastAPI) -> None:
    from app.routes.pages.forms import login_redirect
    from app.routes.pages.render import render_error

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if _wants_json(request):
            return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers())
        if isinstance(exc, NotAuthenticated) and not isinstance(exc, InvalidCredentials):
            # A page that needs a login sends the visitor to the form, and back afterwards.
            return login_redirect(request, back=_form_page(request))
        return render_error(
            request, exc.status_code, exc.message, code=exc.code, headers=exc.headers()
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg')}")
        message = "invalid request: " + "; ".join(problems)
        if _wants_json(request):
            return JSONResponse({"code": "invalid_request", "message": message}, status_code=422)
        return render_error(request, 422, message, code="invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else "error"
        if _wants_json(request):
            return JSONResponse({"code": code, "message": message}, status_code=exc.status_code)
        return render_error(request, exc.status_code, message, code=code)
