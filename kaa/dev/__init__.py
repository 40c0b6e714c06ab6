"""Development-only tools, left out of the built wheel: the Kafka and PostgreSQL launcher
(`kaa.dev.launcher`, which may call apt-get), the demo and the synthetic data generators."""
