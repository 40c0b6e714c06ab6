"""`kaa contracts export DIR`: JSON Schema per message type, AsyncAPI 3.0 per service.

The documents are generated from the pydantic models, so they cannot drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.contracts import topics
from shared.contracts.events import (
    ALL_EVENTS,
    AbsenceReported,
    ContactAttempted,
    ContactDetailsRecorded,
    MeasureOffered,
    PersonalDataPurged,
    PersonalDetailsRecorded,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.feeds import (
    CompletionFeedMessage,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)

FEEDS: dict[str, type[BaseModel]] = {
    topics.POPULATION_FEED: PopulationFeedMessage,
    topics.SS12000_FEED: Ss12000FeedMessage,
    topics.COMPLETIONS_FEED: CompletionFeedMessage,
}
TOPIC_MESSAGES: dict[str, list[type[BaseModel]]] = {
    topics.POPULATION_FEED: [PopulationFeedMessage],
    topics.SS12000_FEED: [Ss12000FeedMessage],
    topics.COMPLETIONS_FEED: [CompletionFeedMessage],
    topics.IDENTIFY_EVENTS: [
        YouthIdentified,
        PersonalDetailsRecorded,
        YouthLeftScope,
        SchoolNotificationReceived,
        AbsenceReported,
    ],
    topics.OUTREACH_EVENTS: [ContactAttempted, ContactDetailsRecorded],
    topics.MEASURES_EVENTS: [MeasureOffered],
    topics.RETENTION_EVENTS: [PersonalDataPurged],
}
SERVICES: dict[str, dict[str, list[str]]] = {
    "identify": {
        "receive": list(topics.FEED_TOPICS),
        "send": [topics.IDENTIFY_EVENTS],
    },
    "outreach": {"receive": [topics.IDENTIFY_EVENTS], "send": [topics.OUTREACH_EVENTS]},
    "measures": {"receive": [topics.IDENTIFY_EVENTS], "send": [topics.MEASURES_EVENTS]},
    "register": {"receive": list(topics.EVENT_TOPICS), "send": [topics.RETENTION_EVENTS]},
}


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def asyncapi(service: str) -> dict[str, Any]:
    roles = SERVICES[service]
    used = roles["receive"] + roles["send"]
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in used:
        refs = {}
        for model in TOPIC_MESSAGES[topic]:
            messages[model.__name__] = {
                "name": model.__name__,
                "contentType": "application/json",
                "summary": (model.__doc__ or "").strip().splitlines()[0],
                "payload": model.model_json_schema(),
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
        "components": {"messages": messages},
    }


def export(directory: Path) -> list[Path]:
    schemas = directory / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    written = []
    for model in [*ALL_EVENTS, *FEEDS.values()]:
        path = schemas / f"{model.__name__}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
        written.append(path)
    for service in SERVICES:
        path = directory / f"asyncapi-{service}.json"
        path.write_text(json.dumps(asyncapi(service), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
