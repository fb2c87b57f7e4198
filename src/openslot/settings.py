"""Settings, read once from ``OPENSLOT_*`` environment variables and passed down.

Nothing below the composition root (``cli``, ``api.app``) reads the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENSLOT_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("openslot-data"),
        description="Directory for the embedded SQLite database and the generated secret key.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite in the data directory.",
    )
    base_url: str = Field(
        default="",
        description="Public URL of the server, used in every absolute link the API returns.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Server key for encrypting client secrets; generated on first start.",
    )
    host: str = Field(default="127.0.0.1", description="Address `openslot serve` binds to.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port `openslot serve` binds to.")
    workers: int = Field(default=1, ge=1, le=64, description="API processes for `serve`.")
    access_token_ttl: int = Field(
        default=3600, ge=60, le=86400, description="Lifetime of access tokens in seconds."
    )
    authorization_code_ttl: int = Field(
        default=60,
        ge=1,
        le=600,
        description="Lifetime of OAuth authorization codes in seconds (at most 600).",
    )
    session_ttl: int = Field(
        default=12 * 3600,
        ge=300,
        le=30 * 86400,
        description="Seconds a person stays signed in on Openslot's pages.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    rate_limit_per_second: int = Field(
        default=0, ge=0, description="Requests per second per application; 0 disables."
    )
    rate_limit_per_minute: int = Field(
        default=0, ge=0, description="Requests per minute per application; 0 disables."
    )
    tombstone_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days a deleted event stays readable with include_deleted."
    )
    callback_allow_subnets: str = Field(
        default="",
        description="Comma-separated subnets callbacks may reach although private (e.g. 127.0.0.0/8).",
    )
    webhook_timeout: float = Field(default=15.0, gt=0, le=120, description="Seconds per delivery attempt.")
    webhook_failure_horizon_hours: int = Field(
        default=120, ge=1, le=24 * 30, description="Hours of continuous failure before a channel is closed."
    )
    worker: Literal["auto", "embedded", "off"] = Field(
        default="auto",
        description="Deliver webhooks inside `serve`; auto: on SQLite only (else run `openslot worker`).",
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description=(
            "Request threads and database connections per pool of a process. On PostgreSQL a process"
            " has two pools, for the requests served on the event loop and for those in threads, so it"
            " may open up to twice this many connections."
        ),
    )
    log_level: str = Field(default="info", description="Log level of the server.")

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openslot.db').resolve()}"

    @property
    def allowed_callback_subnets(self) -> list[str]:
        return [net.strip() for net in self.callback_allow_subnets.split(",") if net.strip()]

    @property
    def embedded_worker(self) -> bool:
        if self.worker == "auto":
            return self.effective_database_url.startswith("sqlite")
        return self.worker == "embedded"

    @property
    def effective_base_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, creating one in the data directory if needed."""
        if self.secret_key.get_secret_value():
            return self
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        key = path.read_text().strip()
        return self.model_copy(update={"secret_key": SecretStr(key)})

    def sources(self) -> dict[str, str]:
        """Where each setting's value came from: the environment, a generated file, or the default."""
        result: dict[str, str] = {}
        for name in type(self).model_fields:
            env = f"OPENSLOT_{name.upper()}"
            if env in os.environ:
                result[name] = f"environment ({env})"
            elif name == "secret_key" and (self.data_dir / SECRET_KEY_FILE).exists():
                result[name] = f"file ({self.data_dir / SECRET_KEY_FILE})"
            else:
                result[name] = "default"
        return result

    def display_values(self) -> dict[str, Any]:
        """Every setting with secrets masked, for `openslot config show`."""
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                generated = name == "secret_key" and (self.data_dir / SECRET_KEY_FILE).exists()
                value = "********" if value.get_secret_value() or generated else "(not set)"
            elif name == "database_url":
                value = mask_url_password(value) if value else f"(embedded) {self.effective_database_url}"
            values[name] = value
        return values


def mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "********"
