"""I/O of the measures service: the event store (`store`) and the public events it publishes
(`outbound`)."""
