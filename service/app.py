"""``create_app(settings)``: the FastAPI application with every domain router mounted."""

import logging
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI
from sqlalchemy.orm.exc import StaleDataError

from . import docs, edge, graphql, logs, metrics, problems
from .assessments.routes import router as assessments_router
from .auth.jwt_bearer import verifier_from_settings
from .auth.routes import router as api_keys_router
from .auth.throttle import Throttle
from .bulk import runner as bulk_runner
from .bulk.routes import router as bulk_router
from .calibration.routes import router as calibration_router
from .db import engine_for, migration_state, worker_threads
from .fairness.routes import router as fairness_router
from .handlers import register_handlers
from .input_guard import reject_nul_input
from .limits import BodySizeLimit
from .ops import router as ops_router
from .outlines.routes import router as outlines_router
from .people.routes import router as people_router
from .problems import PreconditionFailed, problem_response
from .readiness.routes import router as readiness_router
from .retention import PurgeWorker
from .rubrics.routes import router as rubrics_router
from .scim import errors as scim_errors
from .scim import routes as scim_routes
from .settings import Settings, get_settings
from .webhooks.delivery import WebhookWorker
from .webhooks.routes import router as webhooks_router

log = logging.getLogger("ascent")

ROUTERS = (ops_router, api_keys_router, rubrics_router, people_router, assessments_router,
           readiness_router, outlines_router, webhooks_router, bulk_router,
           calibration_router, fairness_router)
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


def served_app() -> FastAPI:
    """The app as one of several server processes (``ASCENT_WORKERS``) builds it: each worker
    is a fresh interpreter, so it sets up logging itself, as ``ascent serve`` does."""
    settings = get_settings()
    logs.configure(settings, background=True)
    return create_app(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_for(settings)
    jwt_verifier = verifier_from_settings(settings)  # a half-configured JWT setup fails here

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        check_migrated(engine)  # refuse to serve an unmigrated database
        current = app.state.settings
        # the thread pool of this event loop, which UnitOfWorkRoute and run_in_threadpool use
        to_thread.current_default_thread_limiter().total_tokens = worker_threads(
            engine, current.threads)
        worker = WebhookWorker(engine, current) if current.webhooks_worker else None
        if worker:
            worker.start()
        bulk_runner.runner_for(app)  # settles jobs a stopped process left; resumes queued ones
        purger = PurgeWorker(engine, current).start() if current.purge_worker else None
        yield
        if worker:
            worker.stop()
        if purger:
            purger.stop()
        bulk_runner.shutdown(app)
        engine.dispose()

    app = FastAPI(
        title="Ascent",
        version="0.1.0",
        summary="Career-ladder rubrics, assessments, promotion readiness and outlines.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served with local assets by docs.install
    )
    app.state.settings, app.state.engine = settings, engine
    app.state.jwt_verifier = jwt_verifier
    app.state.auth_throttle = Throttle.from_settings(settings)
    problems.install(app)

    @app.exception_handler(StaleDataError)
    async def _stale(request, exc):  # a concurrent writer won between our read and our write
        return problem_response(PreconditionFailed(
            "The resource was changed by another request; fetch it again."), request.url.path)

    for router in ROUTERS:
        guard = [] if router is ops_router else [Depends(reject_nul_input)]  # ops: public
        app.include_router(router, dependencies=guard)
    scim_routes.install(app, [Depends(reject_nul_input)])  # /scim/v2: SCIM's own errors
    register_handlers()
    docs.install(app)
    graphql.install(app, settings)  # /graphql and its IDE's local assets
    _document_problems(app)
    # Pure ASGI layers, innermost first: body limit, CORS, the edge (request ids, security
    # headers, access log, metrics; outermost, so even a 413 has an id).
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       exempt_prefixes=("/v1/bulk/",),
                       answers={scim_routes.PREFIX + "/": scim_errors.from_problem})
    metrics.install(app)
    edge.install(app, settings.cors_origins)
    return app
