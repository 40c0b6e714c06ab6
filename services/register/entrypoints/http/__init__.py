"""The register's HTTP routes, by job: reads, audit and operations, identity, SCB."""
