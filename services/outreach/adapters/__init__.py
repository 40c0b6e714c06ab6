"""I/O of the outreach service: its event store and read model, the worklist queries, its public
events."""
