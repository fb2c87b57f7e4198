"""The ``openslot`` command: the composition root that builds settings and hands them down."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from openslot.settings import Settings

DEMO_REDIRECT_URI = "http://localhost/callback"


def _settings(**overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values).with_secret_key()


def _context(settings: Settings) -> Any:
    from openslot.api.app import build_context

    return build_context(settings)


@click.group()
@click.version_option(package_name="openslot")
def main() -> None:
    """Openslot: a self-hostable calendar and scheduling API server that speaks the Cronofy API."""


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    from openslot.store.migrate import upgrade

    settings = _settings()
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    ctx.db.dispose()
    click.echo("database is up to date")


@main.command()
def purge() -> None:
    """Delete event tombstones past the retention period and expired access tokens."""
    from openslot.services.maintenance import purge as run_purge
    from openslot.store.migrate import upgrade

    settings = _settings()
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    purged = run_purge(ctx, settings.tombstone_retention_days)
    ctx.db.dispose()
    click.echo(
        f"purged {purged.tombstones} event tombstones older than {settings.tombstone_retention_days} days "
        f"and {purged.expired_access_tokens} expired access tokens"
    )


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to bind (default 8080).")
@click.option("--workers", default=None, type=int, help="API processes (use PostgreSQL for more than one).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Apply migrations and serve the API."""
    import uvicorn

    from openslot.asgi import server_app
    from openslot.services.applications import ensure_demo_application
    from openslot.services.maintenance import purge as run_purge
    from openslot.store.migrate import upgrade

    settings = _settings(host=host, port=port, workers=workers)
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    run_purge(ctx, settings.tombstone_retention_days)
    demo = ensure_demo_application(ctx, DEMO_REDIRECT_URI)
    url = settings.effective_base_url
    click.echo(f"Openslot {_version()} serving on http://{settings.host}:{settings.port} (public URL {url})")
    click.echo(f"Database: {_masked_db(settings)}")
    click.echo("Demo application:")
    click.echo(f"  client_id     {demo.info.client_id}")
    click.echo(f"  client_secret {demo.client_secret}")
    sys.stdout.flush()
    if settings.workers > 1:
        if settings.effective_database_url.startswith("sqlite"):
            click.echo(
                "Warning: several processes share one SQLite writer and queue on its lock; "
                "use PostgreSQL (OPENSLOT_DATABASE_URL) for more than one worker.",
                err=True,
            )
        ctx.db.dispose()
        # Worker processes build their own settings from the environment: hand them ours.
        os.environ.update(
            {
                "OPENSLOT_HOST": settings.host,
                "OPENSLOT_PORT": str(settings.port),
                "OPENSLOT_DATA_DIR": str(settings.data_dir),
            }
        )
        uvicorn.run(
            "openslot.asgi:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=_access_log(settings.log_level),
        )
    else:
        uvicorn.run(
            server_app(settings, ctx),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=_access_log(settings.log_level),
        )


def _access_log(log_level: str) -> bool:
    # Above "info" the access log prints nothing, yet uvicorn would still build every line's values.
    return log_level.lower() in ("trace", "debug", "info")


@main.command()
@click.option("--concurrency", default=16, show_default=True, help="Deliveries in flight at once.")
def worker(concurrency: int) -> None:
    """Deliver push notifications (for PostgreSQL deployments; SQLite's `serve` embeds one)."""
    import signal
    import threading

    from openslot.asgi import delivery_worker
    from openslot.jobs.listener import listen
    from openslot.store.migrate import upgrade

    settings = _settings()
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    runner = delivery_worker(settings, ctx)
    runner.concurrency = concurrency
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: (stop.set(), runner.wake()))
    if ctx.db.engine.dialect.name == "postgresql":
        url = settings.effective_database_url
        threading.Thread(target=listen, args=(url, runner.wake, stop), daemon=True).start()
    ctx.db.after_outbox_commit.append(runner.wake)
    click.echo(f"Openslot worker delivering push notifications ({concurrency} at a time)")
    try:
        runner.run(stop)
    finally:
        runner.sender.close()
        ctx.db.dispose()


@main.group()
def channels() -> None:
    """Inspect push notification channels."""


@channels.command("deliveries")
@click.argument("channel_id")
@click.option("--limit", default=50, show_default=True, help="Most recent attempts to show.")
def channel_deliveries(channel_id: str, limit: int) -> None:
    """Every recorded delivery attempt of a channel, newest first."""
    from openslot.services.channels import deliveries
    from openslot.services.errors import NotFound

    settings = _settings()
    ctx = _context(settings)
    try:
        channel, attempts = deliveries(ctx, channel_id, limit)
    except NotFound as exc:
        raise click.ClickException(f"no channel {channel_id}") from exc
    finally:
        ctx.db.dispose()
    state = f"closed ({channel.closed_reason})" if channel.closed_at else "open"
    table = Table(title=f"Deliveries of {channel_id} to {channel.callback_url} — {state}")
    for column in ("attempted", "job", "attempt", "outcome", "status", "ms", "detail"):
        table.add_column(column)
    for row in attempts:
        table.add_row(
            row.attempted_at.strftime("%Y-%m-%d %H:%M:%SZ"),
            str(row.job_id),
            str(row.attempt),
            row.outcome,
            str(row.status_code or ""),
            str(row.duration_ms),
            row.detail or "",
        )
    Console().print(table)


@main.group()
def apps() -> None:
    """Register and list applications (OAuth clients)."""


@apps.command("create")
@click.argument("name")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, help="Repeat for several.")
@click.option("--scope", default=None, help="Scopes the application may request (default: all).")
@click.option(
    "--public",
    is_flag=True,
    help="A public client (browser or mobile app): no secret, PKCE required, rotating refresh tokens.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as a JSON object.")
def apps_create(
    name: str, redirect_uris: tuple[str, ...], scope: str | None, public: bool, as_json: bool
) -> None:
    """Register an application and print its credentials (shown only this once)."""
    from openslot.services.applications import create_application
    from openslot.services.errors import ValidationFailed
    from openslot.store.migrate import upgrade

    settings = _settings()
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    try:
        created = create_application(ctx, name, list(redirect_uris), scope, public=public)
    except ValidationFailed as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ctx.db.dispose()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "name": created.info.name,
                    "client_id": created.info.client_id,
                    "client_secret": created.client_secret or None,
                    "public": created.info.public,
                    "redirect_uris": created.info.redirect_uris,
                    "scope": created.info.allowed_scopes,
                }
            )
        )
        return
    click.echo(f"Application {created.info.name!r} registered.")
    click.echo(f"  client_id     {created.info.client_id}")
    if public:
        click.echo("A public client has no secret: it sends its client_id alone and must use PKCE (S256).")
        return
    click.echo(f"  client_secret {created.client_secret}")
    click.echo("The client secret is not shown again.")


@apps.command("list")
def apps_list() -> None:
    """List registered applications."""
    from openslot.services.applications import list_applications
    from openslot.store.migrate import upgrade

    settings = _settings()
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    found = list_applications(ctx)
    ctx.db.dispose()
    table = Table(title="Applications")
    table.add_column("client_id", no_wrap=True, min_width=32)
    for column in ("name", "redirect URIs", "scopes", "created"):
        table.add_column(column, overflow="fold")
    for app in found:
        name = f"{app.name} (demo)" if app.is_demo else app.name
        name += " (public)" if app.public else ""
        table.add_row(
            app.client_id,
            name,
            "\n".join(app.redirect_uris),
            app.allowed_scopes,
            app.created_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        )
    Console().print(table)


@main.group()
def accounts() -> None:
    """Create people's accounts (people can also sign up on the server's pages)."""


@accounts.command("create")
@click.argument("email")
@click.option("--name", default=None, help="The person's name.")
@click.option("--password", default=None, help="The password (visible to other users of this machine).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print the new account as a JSON object.")
def accounts_create(
    email: str, name: str | None, password: str | None, password_stdin: bool, as_json: bool
) -> None:
    """Create an account (a profile with a calendar) that signs in with EMAIL and a password.

    Without --password or --password-stdin the password is asked for twice.
    """
    from openslot.services.errors import ValidationFailed
    from openslot.services.people import create_account
    from openslot.store.migrate import upgrade

    if password is not None and password_stdin:
        raise click.UsageError("give --password or --password-stdin, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()
    ctx = _context(settings)
    upgrade(ctx.db.engine)
    try:
        person = create_account(ctx, email, password or "", name)
    except ValidationFailed as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ctx.db.dispose()
    if as_json:
        click.echo(json.dumps({"account_id": person.account_id, "email": person.email, "name": person.name}))
        return
    click.echo(f"Account {person.account_id} created for {person.email}.")


@main.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
def config_show() -> None:
    """Every setting, its value (secrets masked) and where it came from."""
    settings = Settings()
    sources = settings.sources()
    table = Table(title="Openslot settings")
    table.add_column("setting")
    table.add_column("environment variable")
    table.add_column("value")
    table.add_column("source")
    for name, value in settings.display_values().items():
        table.add_row(name, f"OPENSLOT_{name.upper()}", str(value), sources[name])
    Console().print(table)


def _masked_db(settings: Settings) -> str:
    from openslot.settings import mask_url_password

    return mask_url_password(settings.effective_database_url)


def _version() -> str:
    from openslot import __version__

    return __version__
