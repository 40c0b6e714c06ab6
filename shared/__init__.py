"""Code shared by the kaa services: the event contracts, the event store, messaging,
the casework code outreach and measures share, and what every service needs at run time. It imports
nothing from `services/` or `kaa/`.

This is the project's own shared package; the notes folder `../shared/` beside the repository is a
different thing.
"""
