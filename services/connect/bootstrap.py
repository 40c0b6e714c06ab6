"""Composition root of the connect service (filled in as the connectors land)."""
