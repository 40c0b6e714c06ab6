"""The web application's I/O: its settings, its sessions in PostgreSQL, the services' HTTP APIs."""
