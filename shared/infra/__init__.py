"""What a running service needs from its infrastructure: `KAA_HOME` (where `infra.env` and the
development secrets live) and explicit topic creation.

The development launcher that starts a real Kafka and PostgreSQL is `kaa.dev.launcher`; production
points the services at existing clusters through `KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL`.
"""
