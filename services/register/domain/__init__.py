"""The register's rules: pure, no I/O (the SCB report and its checks, data quality, retention)."""
