"""Code shared by the kaa services: contracts, infrastructure adapters and the `kaa` command line.

This is the project's own shared package; the notes folder `../shared/` beside the repository is a
different thing.
"""
