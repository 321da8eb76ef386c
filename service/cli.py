"""The ``ascent`` command: serve, migrate, load-defaults, keys, openapi."""

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .settings import get_settings

app = typer.Typer(help="Ascent: career-ladder rubrics, assessments and readiness.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)


def _session(write: bool = True):
    """A session for a command that reads or changes data. The domains' event reactions are
    wired first, as the app does, so a change made here has the same effects (webhook outbox
    rows, readiness snapshots). Imports are deferred to keep `ascent --help` fast."""
    from .db import engine_for, open_session
    from .handlers import register_handlers

    register_handlers()
    return open_session(engine_for(get_settings()), write=write)


def _require_migrated() -> None:
    from .app import UnmigratedDatabase, check_migrated
    from .db import engine_for

    try:
        check_migrated(engine_for(get_settings()))
    except UnmigratedDatabase as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def migrate(revision: str = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    from .db import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    err.print(f"database migrated to {revision}")


@app.command("load-defaults")
def load_defaults() -> None:
    """Load the default content (idempotent: running it twice changes nothing)."""
    from .outlines.service import load_defaults as load_templates
    from .readiness.policies import ensure_default_policy
    from .rubrics.service import load_defaults as load_rubrics

    _require_migrated()
    with _session() as session:
        messages = load_rubrics(session)
        messages.append(ensure_default_policy(session))
        messages += load_templates(session)  # after rubrics: template fields refer to them
        session.commit()
    for line in messages:
        err.print(line)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ASCENT_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ASCENT_PORT")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Default: ASCENT_WORKERS")
                       ] = None,
) -> None:
    """Serve the API (refuses an unmigrated database). Prints a one-time admin key on first
    start unless ASCENT_BOOTSTRAP_ADMIN_KEY is set. Several workers are separate processes
    sharing the port, each with its own app built by ``app.served_app``."""
    import uvicorn

    from .app import create_app
    from .auth.jwt_bearer import JwtConfigError
    from .auth.service import ensure_admin_key
    from .logs import configure as configure_logging

    settings = get_settings()
    _require_migrated()
    try:
        application = create_app(settings)
    except JwtConfigError as exc:  # misconfiguration stops the start, loudly
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    with _session() as session:
        secret = ensure_admin_key(session, settings.bootstrap_admin_key)
        session.commit()
    host, port = host or settings.host, port or settings.port
    base = f"http://{host}:{port}"
    err.print(f"Ascent on {base}  docs: {base}/docs  (ReDoc: {base}/redoc)")
    if secret:
        err.print("An admin API key was created. It is shown once; keep it safe:")
        print(secret, flush=True)
    elif not settings.bootstrap_admin_key:
        err.print("An admin key exists already; make more with "
                  "`ascent keys create --name NAME --scope admin`.")
    configure_logging(settings, background=True)  # JSON (or text) lines with request ids
    workers = workers or settings.workers
    options = {"host": host, "port": port, "log_config": None, "access_log": False,
               "log_level": settings.log_level.lower()}
    if workers == 1:
        uvicorn.run(application, **options)
    else:  # several processes import the factory, one app each
        from .workers import serve as serve_workers

        serve_workers(uvicorn.Config("service.app:served_app", factory=True, workers=workers,
                                     **options))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for")],
    scope: Annotated[list[str], typer.Option(help="A scope (repeatable), e.g. rubrics:read")],
    person: Annotated[str | None, typer.Option(help="Bind the key to a person's external_id")
                      ] = None,
    expires: Annotated[datetime | None, typer.Option(help="Expiry (UTC)")] = None,
) -> None:
    """Create an API key; the secret is printed alone on the last line."""
    from pydantic import ValidationError

    from .auth.schemas import ApiKeyCreate
    from .auth.service import create_key
    from .models import utcnow

    _require_migrated()
    try:
        data = ApiKeyCreate(name=name, scopes=scope, person=person,
                            expires_at=expires.replace(tzinfo=utcnow().tzinfo) if expires else None)
    except ValidationError as exc:
        err.print(f"[red]{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}[/red]")
        raise typer.Exit(2) from exc
    with _session() as session:
        key, secret = create_key(session, data)
        session.commit()
    err.print(f"created key {key.id} ({key.prefix}…) with scopes {' '.join(key.scopes)}")
    print(secret)


@keys_app.command("list")
def keys_list(include_revoked: bool = False) -> None:
    """List API keys (never their secrets)."""
    from .auth.service import list_keys

    _require_migrated()
    with _session(write=False) as session:
        keys = list_keys(session, include_revoked=include_revoked)
    table = Table("id", "prefix", "name", "scopes", "person", "expires", "revoked")
    for k in keys:
        table.add_row(str(k.id), k.prefix, k.name, " ".join(k.scopes), k.person or "",
                      str(k.expires_at or ""), str(k.revoked_at or ""))
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke an API key by id."""
    from .auth.service import revoke_key
    from .problems import ProblemError

    _require_migrated()
    with _session() as session:
        try:
            revoke_key(session, key_id)
        except ProblemError as exc:
            err.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc
        session.commit()
    err.print(f"revoked key {key_id}")


@app.command()
def purge() -> None:
    """Delete now what is past its retention (expired idempotency records, old webhook events,
    ended bulk jobs, audit rows beyond ASCENT_RETENTION_AUDIT_DAYS). Servers also do it every
    ASCENT_PURGE_INTERVAL_SECONDS."""
    from .db import engine_for
    from .retention import purge as purge_now

    _require_migrated()
    settings = get_settings()
    engine = engine_for(settings)
    counts = purge_now(engine, settings)
    engine.dispose()
    for name, count in counts.items():
        print(f"{name}: {count} deleted")


def openapi_document() -> dict:
    from .app import create_app
    from .settings import Settings

    return create_app(Settings(database_url="sqlite://")).openapi()


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
    graphql: Annotated[Path | None, typer.Option(
        help="Also write the GraphQL schema (SDL) here, e.g. openapi/schema.graphql")] = None,
) -> None:
    """Print (or write) the OpenAPI document generated from the app."""
    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)
    if graphql:
        from .graphql.schema import sdl

        graphql.parent.mkdir(parents=True, exist_ok=True)
        graphql.write_text(sdl())
        err.print(f"wrote {graphql}")


# --- talking to a running server (service/client.py) -----------------------------------------

ServerUrl = Annotated[str | None, typer.Option(
    "--url", envvar="ASCENT_URL", help="A running server (default http://ASCENT_HOST:ASCENT_PORT)")]
ApiKey = Annotated[str, typer.Option("--key", envvar="ASCENT_API_KEY", help="An API key")]
Retries = Annotated[int, typer.Option(min=0, help="Retries on 429, 503 and connection errors, "
                                                  "with exponential backoff")]


def _client(url: str | None, key: str, retries: int = 5):
    from .client import AscentClient

    settings = get_settings()
    return AscentClient(url or f"http://{settings.host}:{settings.port}", key, retries=retries)


def _client_errors() -> tuple[type[Exception], ...]:
    import httpx

    from .client import ApiError

    return ApiError, httpx.TransportError, OSError, ValueError


def _fail(exc: Exception) -> typer.Exit:
    """Problem details (or a connection error) on stderr; exit 2."""
    err.print(f"[red]{exc}[/red]")
    return typer.Exit(2)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A .csv or .jsonl/.ndjson file")],
    url: ServerUrl = None,
    key: ApiKey = ...,
    mode: Annotated[str, typer.Option(help="atomic (all or nothing) or partial")] = "atomic",
    submit: Annotated[bool, typer.Option(help="Submit every assessment")] = False,
    finalize: Annotated[bool, typer.Option(help="Submit and finalize every assessment")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the job to its end")] = True,
    format: Annotated[str | None, typer.Option(help="csv or ndjson (default: from the name)")
                      ] = None,
    errors: Annotated[Path | None, typer.Option(help="Also write every row error here (CSV)")
                      ] = None,
    retries: Retries = 5,
) -> None:
    """Upload a review cycle (the key needs bulk:write and jobs:read), follow the job with a
    progress bar and list the rows it rejected. Exits 1 when any row failed. The job id is
    printed alone on the last line."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    if mode not in ("atomic", "partial"):
        raise typer.BadParameter("atomic or partial", param_hint="--mode")
    try:
        with _client(url, key, retries) as client:
            with Progress(TextColumn("uploading"), BarColumn(), DownloadColumn(),
                          console=err, transient=True) as bar:
                task = bar.add_task("upload", total=file.stat().st_size)
                job = client.import_assessments(
                    file, format=format, mode=mode, submit=submit, finalize=finalize,
                    on_sent=lambda n: bar.advance(task, n))
            err.print(f"job {job.id}: {job.status} ({file.stat().st_size} bytes, {mode})")
            if wait:
                job = _follow(client, job)
                _report(client, job, errors)
    except _client_errors() as exc:
        raise _fail(exc) from exc
    print(job.id)
    if wait and not job.ok:
        raise typer.Exit(1)


def _follow(client, job):
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task(job.status, total=1.0, counts="")

        def show(current) -> None:
            total = "?" if current.total is None else current.total
            bar.update(task, completed=current.progress, description=current.status,
                       counts=f"{current.processed}/{total} assessments, "
                              f"{current.succeeded} applied, {current.failed} rejected")

        return client.wait_for_job(job.id, poll=0.3, on_progress=show)


def _report(client, job, errors_file: Path | None, shown: int = 50) -> None:
    """The outcome, a table of the first ``shown`` row errors, and all of them in a file."""
    from itertools import islice

    from . import csv_cells

    style = "green" if job.ok else "yellow" if job.status == "partial" else "red"
    err.print(f"[{style}]{job.status}[/{style}]: {job.succeeded} applied, {job.failed} rejected"
              f" of {job.processed}" + (f". {job.reason}" if job.reason else ""))
    if not job.errors_total:
        return
    errors = client.job_errors(job.id)
    table = Table("line", "field", "message", "person", "cycle", title="rejected rows")
    for e in islice(errors, shown):
        table.add_row(str(e.line), e.field or "-", e.message, e.external_id or "", e.cycle or "")
    err.print(table)
    if errors_file:
        with errors_file.open("w", newline="") as out:
            writer = csv_cells.Writer(out)
            writer.writerow(["line", "field", "message", "external_id", "cycle"])
            writer.writerows([e.line, e.field, e.message, e.external_id or "", e.cycle or ""]
                             for e in client.job_errors(job.id))
        err.print(f"every row error is in {errors_file}")
    elif job.errors_total > shown:
        err.print(f"... and {job.errors_total - shown} more: write them all with --errors FILE")


@app.command("export")
def export_file(
    file: Annotated[Path, typer.Argument(help="Where to write (.csv or .jsonl); - for stdout")],
    url: ServerUrl = None,
    key: ApiKey = ...,
    format: Annotated[str | None, typer.Option(help="csv or ndjson (default: from the name)")
                      ] = None,
    person: str | None = None, rubric: str | None = None, status: str | None = None,
    cycle: str | None = None, org_unit: str | None = None, target_level: str | None = None,
    retries: Retries = 5,
) -> None:
    """Export assessments (the filters of GET /v1/assessments) in the bulk import shape."""
    from .client import SUFFIXES

    fmt = format or SUFFIXES.get(file.suffix.lower(), "csv")
    filters = {"person": person, "rubric": rubric, "status": status, "cycle": cycle,
               "org_unit": org_unit, "target_level": target_level}
    try:
        with _client(url, key, retries) as client:
            dest = sys.stdout.buffer if str(file) == "-" else file
            written = client.export_assessments(dest, format=fmt, **filters)
    except _client_errors() as exc:
        raise _fail(exc) from exc
    err.print(f"wrote {written} bytes to {file}")


@app.command("score")
def score(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write; - for stdout")],
    url: ServerUrl = None,
    key: ApiKey = ...,
    cohort: Annotated[bool, typer.Option(help="Score a cohort (the filters below)")] = False,
    assessment: Annotated[str | None, typer.Option(help="Score one assessment (its id)")] = None,
    format: Annotated[str, typer.Option(help="Cohort: csv (a row per person) or json")] = "csv",
    org_unit: str | None = None, manager: str | None = None, rubric: str | None = None,
    cycle: str | None = None, current_level: str | None = None,
    target_level: str | None = None,
    retries: Retries = 5,
) -> None:
    """Write readiness: a cohort's (`--cohort`, one CSV row per person or the JSON report) or
    one assessment's report (`--assessment ID`, JSON)."""
    if cohort == (assessment is not None):
        raise typer.BadParameter("give --cohort or --assessment ID", param_hint="--cohort")
    dest = sys.stdout.buffer if str(output) == "-" else output
    try:
        with _client(url, key, retries) as client:
            if cohort:
                written = client.cohort_readiness(
                    dest, format=format, org_unit=org_unit, manager=manager, rubric=rubric,
                    cycle=cycle, current_level=current_level, target_level=target_level)
            else:
                body = json.dumps(client.readiness(assessment, target_level), indent=2) + "\n"
                written = len(body.encode())
                if dest is output:
                    output.write_text(body)
                else:
                    dest.write(body.encode())
    except _client_errors() as exc:
        raise _fail(exc) from exc
    err.print(f"wrote {written} bytes to {output}")


if __name__ == "__main__":
    app()
