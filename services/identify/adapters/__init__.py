"""identify's I/O: the event store (`store`), its read tables (`pending`, `schedule`), the feeds' records as facts (`feeds`), the policies from the settings and the public events (`outbound`)."""
