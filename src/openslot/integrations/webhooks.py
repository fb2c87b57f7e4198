"""Sending one signed webhook: HMAC header, the guarded address, a timeout, no redirects."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx2

from openslot import __version__
from openslot.integrations.callbacks import CallbackGuard, CallbackRefused, Target

SIGNATURE_HEADER = "Cronofy-HMAC-SHA256"
MAX_DRAINED_BODY = 64 * 1024


def signature(body: bytes, secrets: Sequence[str]) -> str:
    """Base64 HMAC-SHA256 of the exact body under each active secret, comma-separated."""
    digests = (hmac.new(secret.encode(), body, hashlib.sha256).digest() for secret in secrets)
    return ",".join(base64.b64encode(digest).decode() for digest in digests)


@dataclass(frozen=True)
class Attempt:
    """What came of one attempt. ``outcome`` is ``delivered``, ``failed``, ``timeout``, ``redirect``,
    ``gone``, ``rate_limited``, ``blocked`` or ``error``; nothing of the response body is kept."""

    outcome: str
    status_code: int | None = None
    detail: str | None = None
    retry_after: float | None = None
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _request_url(url: str, target: Target) -> str:
    """The URL with its host replaced by the checked address, so no second lookup can differ."""
    parts = urlsplit(url)
    host = f"[{target.address}]" if ":" in target.address else target.address
    return urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


class WebhookSender:
    def __init__(self, guard: CallbackGuard, timeout: float = 15.0) -> None:
        self.guard = guard
        self.timeout = timeout
        self._client = httpx2.Client(
            follow_redirects=False,
            timeout=httpx2.Timeout(timeout),
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=32),
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def send(self, url: str, body: bytes, secrets: Sequence[str], webhook_id: str) -> Attempt:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = self.guard.check(url, resolve=True)
        except CallbackRefused as exc:
            return Attempt("blocked", detail=f"callback_url {exc.reason}", duration_ms=elapsed())
        assert target is not None
        default_port = 443 if target.scheme == "https" else 80
        headers = {
            "Host": target.host if target.port == default_port else f"{target.host}:{target.port}",
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(body, secrets),
            "User-Agent": f"Openslot/{__version__}",
            "Webhook-Id": webhook_id,
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            with self._client.stream(
                "POST", _request_url(url, target), content=body, headers=headers, extensions=extensions
            ) as response:
                status = response.status_code
                retry_after = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
                # Drain a small body so the connection can be reused; a larger one is abandoned with
                # its connection. Nothing read is kept.
                drained = 0
                for chunk in response.iter_raw():
                    drained += len(chunk)
                    if drained > MAX_DRAINED_BODY:
                        break
        except httpx2.TimeoutException:
            return Attempt("timeout", detail=f"no answer within {self.timeout:g} s", duration_ms=elapsed())
        except httpx2.HTTPError as exc:
            return Attempt("error", detail=type(exc).__name__, duration_ms=elapsed())
        if 200 <= status < 300:
            return Attempt("delivered", status, duration_ms=elapsed())
        if 300 <= status < 400:
            return Attempt("redirect", status, detail="redirects are not followed", duration_ms=elapsed())
        if status == 410:
            return Attempt("gone", status, duration_ms=elapsed())
        if status == 429:
            return Attempt("rate_limited", status, retry_after=retry_after, duration_ms=elapsed())
        return Attempt("failed", status, duration_ms=elapsed())
