"""Request bodies as Pydantic models. Unknown fields are ignored, as Cronofy does."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ApplicationCalendarRequest(Request):
    application_calendar_id: str = Field(min_length=1)


class TokenRequest(Request):
    grant_type: str = Field(min_length=1)
    refresh_token: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None


class RevokeRequest(Request):
    token: str | None = None
    sub: str | None = None


class CreateCalendarRequest(Request):
    profile_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
