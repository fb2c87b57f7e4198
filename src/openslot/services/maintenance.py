"""Housekeeping: forget what has outlived its purpose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from openslot.services import authorization, events, oauth, people
from openslot.services.context import ServiceContext


@dataclass(frozen=True)
class Purged:
    tombstones: int
    expired_access_tokens: int
    expired_sign_in_records: int = 0


def purge(ctx: ServiceContext, tombstone_retention_days: int) -> Purged:
    """Delete event tombstones older than the retention period, access tokens past their expiry, and
    expired authorization codes, browser sessions and counted sign-in failures."""
    cutoff = ctx.clock.now() - timedelta(days=tombstone_retention_days)
    return Purged(
        tombstones=events.purge_tombstones(ctx, cutoff),
        expired_access_tokens=authorization.purge_expired_access_tokens(ctx),
        expired_sign_in_records=oauth.purge_expired_codes(ctx) + people.purge_expired(ctx),
    )
