"""An SS 12000 server on loopback that follows Skolverket's openapi.yml (see server.py)."""

from tests.support.ss12000.server import Ss12000Server

__all__ = ["Ss12000Server"]
