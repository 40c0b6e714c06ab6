"""The register's use cases, callable alike from HTTP, the CLI and tests."""
