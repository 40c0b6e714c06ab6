"""The public, versioned integration contract: envelopes, events, feed records and topic names.

Integration events are what services tell each other over Kafka. They are separate from each
service's internal domain events, which stay in that service's own event store.
"""
