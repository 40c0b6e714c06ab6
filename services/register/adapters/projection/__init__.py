"""The register projection: the sink (order, de-duplication, parking) and the event handlers."""
