"""identify's entry points: HTTP routes, Kafka consumers and commands (thin)."""
