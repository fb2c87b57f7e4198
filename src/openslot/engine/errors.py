"""Errors raised by the engine when a value from outside cannot be used."""

from __future__ import annotations


class InvalidValue(ValueError):
    """A value that breaks a Cronofy data-type rule.

    `key` is the Cronofy error key (``errors.invalid``, ``errors.unknown_tzid`` …) so that the
    layers above can report it without knowing why the engine refused the value.
    """

    key: str
    description: str

    def __init__(self, key: str, description: str) -> None:
        super().__init__(key, description)
        self.key = key
        self.description = description

    def __str__(self) -> str:
        return f"{self.key}: {self.description}"
