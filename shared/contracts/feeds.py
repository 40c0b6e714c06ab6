"""Input feed records, as they arrive on the feed topics.

Population (`kaa.feeds.population.v1`): one record per message, modelled on the population register
(folkbokföring / Navet): a baseline extract record or a change notification (ändringsavisering).

SS 12000 (`kaa.feeds.ss12000.v1`): Skolverket's SS 12000 `Person` object exactly as published (the
reference subset without dates, and SS 12000:2020 enrolments with startDate/endDate), wrapped in a
small envelope that says which municipality received it and when it was observed.

Both envelopes carry `tenant`, the receiving municipality; a record for a tenant this deployment does
not serve is refused. Messages are keyed by a keyed hash of the personnummer (`shared.pseudonym`),
never by the personnummer itself.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import personnummer
from shared.contracts.envelope import Kommunkod
from shared.contracts.text import Text, extra_text_problems

# SS 12000 Code_SchoolType (Skolverket's openapi.yml): anything else is an unknown school type.
SCHOOL_TYPES = frozenset(
    {
        "FS", "FKLASS", "FTH", "OPPFTH", "GR", "GRS", "TR", "SP", "SAM", "GY", "GYS", "VUX",
        "VUXSFI", "VUXGR", "VUXGY", "VUXSARGR", "VUXSARTR", "VUXSARGY", "SFI", "SARVUX",
        "SARVUXGR", "SARVUXGY", "KU", "YH", "FHS", "STF", "KKU", "HS", "ABU", "AU",
    }
)  # fmt: skip

# A source's name: `population`, `ss12000`, `completions`, or one of an SS 12000 organiser's own.
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"

PopulationChange = Literal[
    "baseline",
    "moved_in",
    "moved_out",
    "address_changed",
    "protection_changed",
    "emigrated",
    "deceased",
]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    street: Text = Field(max_length=200)
    postal_code: Text = Field(pattern=r"^\d{3} ?\d{2}$")
    city: Text = Field(max_length=100)


class PopulationRecord(BaseModel):
    """One person as the population register describes them, as of `effective_date`."""

    model_config = ConfigDict(extra="forbid")

    personnummer: Text = Field(
        description="12 digits YYYYMMDDNNNC, personnummer or samordningsnummer."
    )
    given_name: Text = Field(max_length=200)
    family_name: Text = Field(max_length=200)
    address: Address | None = Field(default=None, description="Absent under skyddad folkbokföring.")
    kommunkod: Kommunkod = Field(description="Municipality of folkbokföring after this change.")
    birth_date: date
    protection_marking: bool = Field(
        default=False, description="Sekretessmarkering or skyddad folkbokföring."
    )
    change_type: PopulationChange
    effective_date: date
    registered_in_sweden_on: date | None = Field(
        default=None,
        description="First folkbokförd in Sweden (invandring); absent when registered since birth.",
    )
    registered_in_municipality_on: date | None = Field(
        default=None,
        description="The day the person became folkbokförd in `kommunkod` (Navet gives it with "
        "the folkbokföring). A baseline extract is the state as of `effective_date`, not a move "
        "that day: without this date the person counts as folkbokförd there since before "
        "anything else known about them.",
    )

    @field_validator("personnummer")
    @classmethod
    def _valid_personnummer(cls, value: str) -> str:
        return personnummer.normalize(value)

    @model_validator(mode="after")
    def _registered_between_birth_and_record(self) -> PopulationRecord:
        since = self.registered_in_municipality_on
        if since is not None and since < self.birth_date:
            raise ValueError("registered_in_municipality_on is before birth_date")
        if since is not None and since > self.effective_date:
            raise ValueError("registered_in_municipality_on is after effective_date")
        return self


class PopulationFeedMessage(BaseModel):
    """Envelope of `kaa.feeds.population.v1`."""

    model_config = ConfigDict(extra="forbid")

    feed: Literal["population"] = "population"
    schema_version: Literal[1] = 1
    record_id: uuid.UUID = Field(description="Unique per delivered record; used for tracing.")
    tenant: Kommunkod = Field(description="The municipality that received this record.")
    observed_at: AwareDatetime
    record: PopulationRecord


class _OpenObject(BaseModel):
    """An SS 12000 object: fields kaa does not use are accepted and ignored, but their strings are
    text like any other (a NUL in an unused field is refused before anything stores the record)."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _extra_is_text(self) -> _OpenObject:
        extra = self.__pydantic_extra__  # what `model_extra` returns, without a property call
        if not extra:  # the common case: an object with only the fields kaa names
            return self
        problems = extra_text_problems(extra)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ObjectReference(_OpenObject):
    model_config = ConfigDict(extra="allow")
    id: Text
    displayName: Text | None = None


class CivicNo(_OpenObject):
    model_config = ConfigDict(extra="allow")
    value: Text
    nationality: Text | None = None

    @field_validator("value")
    @classmethod
    def _valid_personnummer(cls, value: str) -> str:
        return personnummer.normalize(value)


class Enrolment(_OpenObject):
    """SS 12000 enrolment; startDate/endDate exist from SS 12000:2020 and are optional here."""

    model_config = ConfigDict(extra="allow")
    enroledAt: ObjectReference
    schoolType: Text
    schoolYear: float | None = Field(default=None, ge=0, le=10)
    cancelled: bool = False
    educationCode: Text | None = None
    programme: ObjectReference | None = None
    specification: Text | None = None
    startDate: date | None = None
    endDate: date | None = None

    @field_validator("schoolType")
    @classmethod
    def _known_school_type(cls, value: str) -> str:
        if value not in SCHOOL_TYPES:
            raise ValueError("unknown school type (not in SS 12000 Code_SchoolType)")
        return value

    @model_validator(mode="after")
    def _ends_after_start(self) -> Enrolment:
        if self.startDate and self.endDate and self.endDate < self.startDate:
            raise ValueError("endDate is before startDate")
        return self


class Ss12000Person(_OpenObject):
    """SS 12000 `Person`; fields the platform does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    id: Text
    givenName: Text | None = None
    familyName: Text | None = None
    civicNo: CivicNo
    securityMarking: Text | None = None
    enrolments: list[Enrolment] = Field(default_factory=list)


class Ss12000FeedMessage(BaseModel):
    """Envelope of `kaa.feeds.ss12000.v1`: the SS 12000 Person as published, plus where and when."""

    model_config = ConfigDict(extra="forbid")

    feed: Literal["ss12000"] = "ss12000"
    schema_version: Literal[1] = 1
    record_id: uuid.UUID
    tenant: Kommunkod
    observed_at: AwareDatetime = Field(
        description="When the school data was read; enrolments without dates count as of this time."
    )
    source: Text | None = Field(
        default=None,
        pattern=SOURCE_PATTERN,
        description="The organiser's source (`ss12000.<id>`, the connect service): the person's "
        "enrolments listed replace that organiser's only. Absent: the feed's files (`ss12000`).",
    )
    live: bool = Field(
        default=False,
        description="A change the organiser's system reported after its first complete sync (a "
        "delta or a callback): decided as soon as it is read, like a school's notification, "
        "instead of waiting for the other sources' watermarks; their later facts decide again.",
    )
    person: Ss12000Person


CompletionKind = Literal["gymnasieexamen", "gys_bevis", "equivalent", "studiebevis"]


class CompletionRecord(BaseModel):
    """A completed (or not quite completed) upper-secondary education, from the national grade
    database (or a caseworker's verified equivalent: IB, a foreign degree, folkhögskola with
    grundläggande behörighet). A studiebevis is recorded but does not end scope."""

    model_config = ConfigDict(extra="forbid")
    personnummer: Text
    kind: CompletionKind
    completed_on: date
    source: Text = Field(max_length=100, description="e.g. 'betygsdatabasen', 'verified:IB'.")

    @field_validator("personnummer")
    @classmethod
    def _valid_personnummer(cls, value: str) -> str:
        return personnummer.normalize(value)


class CompletionFeedMessage(BaseModel):
    """Envelope of `kaa.feeds.completions.v1`."""

    model_config = ConfigDict(extra="forbid")

    feed: Literal["completions"] = "completions"
    schema_version: Literal[1] = 1
    record_id: uuid.UUID
    tenant: Kommunkod
    observed_at: AwareDatetime
    completion: CompletionRecord


FeedMessage = PopulationFeedMessage | Ss12000FeedMessage | CompletionFeedMessage


class FeedWatermark(BaseModel):
    """ "Complete up to T": the source has delivered, on this topic, every record it observed for
    the municipality up to `complete_up_to` (each record's `observed_at`).

    The feed adapter publishes one after each load, for each municipality the load carried, one
    copy to every partition of the topic (after that partition's records); an upstream writer does
    the same. A person whose facts changed is decided once every source the municipality waits for
    (`KAA_FEED_SOURCES`) is complete up to those facts, or after the settle window
    (`KAA_FEED_SETTLE`) when a source stays silent. A marker carries no personal data and is not
    sealed. A marker that goes backwards, for a municipality not served or malformed, is
    dead-lettered with its reason.
    """

    model_config = ConfigDict(extra="forbid")

    feed: Literal["watermark"] = "watermark"
    schema_version: Literal[1] = 1
    watermark_id: uuid.UUID = Field(description="Unique per marker; used for tracing.")
    tenant: Kommunkod = Field(description="The municipality whose records are complete.")
    source: Text = Field(
        pattern=SOURCE_PATTERN,
        description="Which source is complete: population, ss12000, completions (or an "
        "organiser's own source name).",
    )
    complete_up_to: AwareDatetime = Field(
        description="Every record the source observed up to this instant has been published."
    )
    partitions: int = Field(
        ge=1,
        le=10_000,
        description="How many partitions of the topic carry a copy of this marker (one each): the "
        "source is complete once a marker has been read from every one.",
    )


FeedInput = FeedMessage | FeedWatermark
"""What the feed topics carry: records, and the markers that say a source is complete."""
