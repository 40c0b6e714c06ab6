"""I/O of a caseworker service: the event store of cases, the group-commit writer."""
