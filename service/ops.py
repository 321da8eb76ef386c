"""Operational endpoints: liveness, readiness (DB reachable and migrated), Prometheus metrics."""

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from .db import UnitOfWorkRoute, migration_state
from .http import Router
from .metrics import exposition
from .problems import ServiceUnavailable, responses

router = Router(tags=["ops"], route_class=UnitOfWorkRoute)


# Probes do no I/O: async, so they never wait for a worker thread.
@router.get("/livez", operation_id="ops_livez")
async def livez() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/healthz", operation_id="ops_healthz")
async def healthz() -> dict[str, str]:
    """Alias of `/livez`."""
    return await livez()


@router.get("/readyz", operation_id="ops_readyz", responses=responses(503))
def readyz(request: Request) -> dict[str, str]:
    """Ready to serve: the database answers and is migrated to the code's head revision."""
    try:
        current, head = migration_state(request.app.state.engine)
    except SQLAlchemyError as exc:
        raise ServiceUnavailable("The database is unreachable.") from exc
    if current != head:
        raise ServiceUnavailable(
            f"The database is at revision {current or 'none'}, the code needs {head}: "
            "run `ascent migrate`."
        )
    return {"status": "ready", "revision": head}


@router.get("/metrics", operation_id="ops_metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(exposition(request.app), media_type=CONTENT_TYPE_LATEST)
