"""Openslot: a self-hostable calendar and scheduling API server that speaks the Cronofy API."""

__version__ = "0.1.0"
