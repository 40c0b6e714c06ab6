"""The ways in: HTTP helpers and routes both caseworker services have, the Kafka inputs."""
