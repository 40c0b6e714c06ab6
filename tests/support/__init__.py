"""Stand-ins for the systems kaa talks to, started by the tests (an SS 12000 server, an OIDC provider)."""
