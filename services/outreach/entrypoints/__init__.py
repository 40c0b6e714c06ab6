"""The ways into the outreach service: its HTTP API."""
