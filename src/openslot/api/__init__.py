"""The JSON API: parse, authorize, call a use case, format."""
