"""Topic names: the platform creates every topic explicitly (the broker never auto-creates)."""

from __future__ import annotations

from shared.infra.kafka_admin import TopicSpec

IDENTIFY_EVENTS = "kaa.identify.events.v1"
OUTREACH_EVENTS = "kaa.outreach.events.v1"
MEASURES_EVENTS = "kaa.measures.events.v1"
POPULATION_FEED = "kaa.feeds.population.v1"
SS12000_FEED = "kaa.feeds.ss12000.v1"
COMPLETIONS_FEED = "kaa.feeds.completions.v1"

EVENT_TOPICS = (IDENTIFY_EVENTS, OUTREACH_EVENTS, MEASURES_EVENTS)
FEED_TOPICS = (POPULATION_FEED, SS12000_FEED, COMPLETIONS_FEED)
FEED_BY_NAME = {
    "population": POPULATION_FEED,
    "ss12000": SS12000_FEED,
    "completions": COMPLETIONS_FEED,
}


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


PARTITIONS = 6


def all_topic_specs(partitions: int = PARTITIONS, prefix: str = "") -> list[TopicSpec]:
    """Every topic of the platform, dead-letter topics included, all kept forever.

    Six partitions: a consumer group of 1, 2, 3 or 6 members gets an even share of every topic.
    """
    names = [f"{prefix}{name}" for name in (*EVENT_TOPICS, *FEED_TOPICS)]
    return [TopicSpec(name, partitions=partitions) for name in names] + [
        TopicSpec(dead_letter_topic(name), partitions=1) for name in names
    ]
