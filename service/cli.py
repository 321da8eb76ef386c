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
    from .db import engine_for, open_session

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
    from .rubrics.service import load_defaults as load_rubrics

    _require_migrated()
    with _session() as session:
        messages = load_rubrics(session)
        session.commit()
    for line in messages:
        err.print(line)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ASCENT_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ASCENT_PORT")] = None,
) -> None:
    """Serve the API (refuses an unmigrated database). Prints a one-time admin key on first
    start unless ASCENT_BOOTSTRAP_ADMIN_KEY is set."""
    import uvicorn

    from .app import create_app
    from .auth.service import ensure_admin_key

    settings = get_settings()
    _require_migrated()
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
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


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


def openapi_document() -> dict:
    from .app import create_app
    from .settings import Settings

    return create_app(Settings(database_url="sqlite://")).openapi()


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
) -> None:
    """Print (or write) the OpenAPI document generated from the app."""
    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    app()
