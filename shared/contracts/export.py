"""`kaa contracts export DIR`: JSON Schema per message type, AsyncAPI 3.0 per service.

Everything is derived from the code's own declarations, so the documents cannot drift from it:
the events are those of the union consumers parse with (`events.ALL_EVENTS`), each published on
its class's `topic` by the service that owns the topic (`topics.PUBLISHER`), and each service
receives what its consumers subscribe to (`topics.SUBSCRIPTIONS`, which the bootstraps read).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.contracts import topics
from shared.contracts.events import ALL_EVENTS
from shared.contracts.feeds import (
    CompletionFeedMessage,
    FeedWatermark,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)

FEEDS: dict[str, type[BaseModel]] = {
    topics.POPULATION_FEED: PopulationFeedMessage,
    topics.SS12000_FEED: Ss12000FeedMessage,
    topics.COMPLETIONS_FEED: CompletionFeedMessage,
}
# Each feed topic also carries its sources' watermarks ("complete up to T").
TOPIC_MESSAGES: dict[str, list[type[BaseModel]]] = {
    **{topic: [model, FeedWatermark] for topic, model in FEEDS.items()},
    **{
        topic: [event for event in ALL_EVENTS if event.topic == topic]
        for topic in topics.EVENT_TOPICS
    },
}
SERVICES: dict[str, dict[str, list[str]]] = {
    service: {
        "receive": list(subscribed),
        "send": [t for t, publisher in topics.PUBLISHER.items() if publisher == service],
    }
    for service, subscribed in topics.SUBSCRIPTIONS.items()
}
_REF_TEMPLATE = "#/components/schemas/{model}"


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def asyncapi(service: str) -> dict[str, Any]:
    roles = SERVICES[service]
    used = roles["receive"] + roles["send"]
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in dict.fromkeys(used):
        refs = {}
        for model in TOPIC_MESSAGES[topic]:
            # Nested models go to components/schemas, where a reference in the document resolves.
            payload = model.model_json_schema(ref_template=_REF_TEMPLATE)
            schemas.update(payload.pop("$defs", {}))
            messages[model.__name__] = {
                "name": model.__name__,
                "contentType": "application/json",
                "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
                "payload": payload,
            }
            refs[model.__name__] = {"$ref": f"#/components/messages/{model.__name__}"}
        channels[_channel_id(topic)] = {
            "address": topic,
            "description": "Kafka topic; key = youth id (events) or keyed person hash (feeds). "
            f"Rejected messages go to {topics.dead_letter_topic(topic)}.",
            "messages": refs,
        }
    operations = {}
    for action in ("receive", "send"):
        for topic in roles[action]:
            operations[f"{action}_{_channel_id(topic)}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{_channel_id(topic)}"},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"kaa {service}",
            "version": "1",
            "description": "Kommunernas aktivitetsansvar: integration events of the "
            + service
            + " service.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def export(directory: Path) -> list[Path]:
    schemas = directory / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    written = []
    models: list[type[BaseModel]] = [*ALL_EVENTS, *FEEDS.values(), FeedWatermark]
    for model in models:
        path = schemas / f"{model.__name__}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
        written.append(path)
    for service in SERVICES:
        path = directory / f"asyncapi-{service}.json"
        path.write_text(json.dumps(asyncapi(service), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
