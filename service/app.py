"""``create_app(settings)``: the FastAPI application with every domain router mounted."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm.exc import StaleDataError

from . import problems
from .auth.routes import router as api_keys_router
from .db import engine_for, migration_state
from .limits import BodySizeLimit
from .ops import router as ops_router
from .problems import PreconditionFailed, problem_response
from .rubrics.routes import router as rubrics_router
from .settings import Settings, get_settings

log = logging.getLogger("ascent")

ROUTERS = (ops_router, api_keys_router, rubrics_router)
UNMIGRATED = ("The database at {url} is not migrated (at {current}, needs {head}). "
              "Run `ascent migrate`.")


class UnmigratedDatabase(RuntimeError):
    pass


def check_migrated(engine) -> None:
    current, head = migration_state(engine)
    if current != head:
        raise UnmigratedDatabase(UNMIGRATED.format(
            url=engine.url.render_as_string(hide_password=True),
            current=current or "no revision", head=head))


def _document_problems(app: FastAPI) -> None:
    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = problems.add_schemas(default_openapi())
        return app.openapi_schema

    app.openapi = openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        check_migrated(engine)  # refuse to serve an unmigrated database
        yield
        engine.dispose()

    app = FastAPI(
        title="Ascent",
        version="0.1.0",
        summary="Career-ladder rubrics, assessments, promotion readiness and outlines.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.engine = settings, engine
    problems.install(app)

    @app.exception_handler(StaleDataError)
    async def _stale(request, exc):  # a concurrent writer won between our read and our write
        return problem_response(PreconditionFailed(
            "The resource was changed by another request; fetch it again."), request.url.path)

    for router in ROUTERS:
        app.include_router(router)
    _document_problems(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       exempt_prefixes=("/v1/bulk/",))
    return app
