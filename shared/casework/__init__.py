"""The casework outreach and measures share: the scoped youth case, its event store, the
group-commit writer, the HTTP helpers and the composition of a caseworker service."""
