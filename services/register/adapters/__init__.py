"""The register's I/O: its schema and projection, read models, the SCB queries and export log."""
