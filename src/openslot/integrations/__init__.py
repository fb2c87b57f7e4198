"""Outbound adapters behind small interfaces: the clock, and later HTTP delivery and CalDAV."""
