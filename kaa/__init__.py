"""The platform layer: what composes kaa's services (the `kaa` command, running services as
processes, deployments, the feed-file loader). It may import `services` and `shared`; nothing
imports it back. Development-only tools (the launcher, the demo, the generators) are in `kaa.dev`.
"""
