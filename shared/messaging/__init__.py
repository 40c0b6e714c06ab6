"""Kafka plumbing every service uses: the exactly-once-effect consumer, the outbox relay, dead letters."""
