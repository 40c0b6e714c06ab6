"""Topic names: the platform creates every topic explicitly (the broker never auto-creates)."""

from __future__ import annotations

import re

from shared.infra.kafka_admin import TopicSpec

IDENTIFY_EVENTS = "kaa.identify.events.v1"
OUTREACH_EVENTS = "kaa.outreach.events.v1"
MEASURES_EVENTS = "kaa.measures.events.v1"
RETENTION_EVENTS = "kaa.retention.events.v1"
POPULATION_FEED = "kaa.feeds.population.v1"
SS12000_FEED = "kaa.feeds.ss12000.v1"
COMPLETIONS_FEED = "kaa.feeds.completions.v1"

EVENT_TOPICS = (IDENTIFY_EVENTS, OUTREACH_EVENTS, MEASURES_EVENTS, RETENTION_EVENTS)
FEED_TOPICS = (POPULATION_FEED, SS12000_FEED, COMPLETIONS_FEED)
# Where the contract says each event topic comes from, and what each service consumes: the
# services' consumers subscribe to exactly these (their bootstraps read them), and the AsyncAPI
# documents are derived from them (export.py), so the documents cannot drift from the code.
PUBLISHER = {
    IDENTIFY_EVENTS: "identify",
    OUTREACH_EVENTS: "outreach",
    MEASURES_EVENTS: "measures",
    RETENTION_EVENTS: "register",
    # The connectors publish what the organisers and the population deliveries give (so do
    # `kaa feed load` and upstream writers: the feeds are the platform's input, not an event log).
    POPULATION_FEED: "connect",
    SS12000_FEED: "connect",
}
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "identify": FEED_TOPICS,
    "outreach": (IDENTIFY_EVENTS, MEASURES_EVENTS),
    "measures": (IDENTIFY_EVENTS,),
    "register": EVENT_TOPICS,
    "connect": (),
}
FEED_BY_NAME = {
    "population": POPULATION_FEED,
    "ss12000": SS12000_FEED,
    "completions": COMPLETIONS_FEED,
}


_NAMESPACE = re.compile(r"(?:[a-z0-9][a-z0-9-]*\.)*")


def namespace_prefix(namespace: str) -> str:
    """The prefix a deployment's namespace puts before every topic and consumer group: the
    namespace with its separator, `probe` and `probe.` both `probe.` (topics `probe.kaa.…`);
    empty for none. Lower-case letters, digits and hyphens, in dot-separated parts."""
    prefix = namespace.strip()
    if prefix and not prefix.endswith("."):
        prefix += "."
    if _NAMESPACE.fullmatch(prefix) is None:
        raise ValueError(
            "a namespace is lower-case letters, digits and hyphens in dot-separated parts, "
            "each starting with a letter or digit (e.g. probe or team-a.test)"
        )
    return prefix


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


PARTITIONS = 6
# Feeds carry personal data in the clear as the upstream registers deliver it. They are input, not
# the event log (identify's events are, with the details sealed), so they are kept 30 days: long
# enough to re-read after an incident, far shorter than any retention period of the register.
FEED_RETENTION_SECONDS = 30 * 24 * 3600
FEED_RETENTION = {"retention.ms": str(FEED_RETENTION_SECONDS * 1000), "retention.bytes": "-1"}


def all_topic_specs(partitions: int = PARTITIONS, prefix: str = "") -> list[TopicSpec]:
    """Every topic of the platform, dead-letter topics included: the event topics kept forever,
    the feed topics (and their dead letters) 30 days.

    Six partitions: a consumer group of 1, 2, 3 or 6 members gets an even share of every topic.
    Replication is left to the cluster (`TopicSpec.replication_factor` None): `ensure_topics` gives
    three copies and min.insync.replicas 2 on a cluster of three brokers or more.
    """
    events = [f"{prefix}{name}" for name in EVENT_TOPICS]
    feeds = [f"{prefix}{name}" for name in FEED_TOPICS]
    return (
        [TopicSpec(name, partitions=partitions) for name in events]
        + [TopicSpec(dead_letter_topic(name), partitions=1) for name in events]
        + [TopicSpec(name, partitions=partitions, config=FEED_RETENTION) for name in feeds]
        + [
            TopicSpec(dead_letter_topic(name), partitions=1, config=FEED_RETENTION)
            for name in feeds
        ]
    )
