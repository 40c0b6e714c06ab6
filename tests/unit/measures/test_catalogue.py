"""The measures a municipality can offer: the standard ones of the code list, the consortium's
partner offerings and its own, a retired entry leaving its code out; only an active entry of a
catalogue itself is retired."""

from __future__ import annotations

import pytest

from services.measures.domain import CONSORTIUM, MeasureCatalogue
from services.measures.domain.catalogue import (
    catalogue_owner,
    check_offerable,
    check_retirable,
    offerable,
)
from shared.casework.domain import CommandRefused

STANDARD = {"internship": "Praktik", "study_visit": "Studiebesök"}


def catalogue(owner: str, *codes: str) -> MeasureCatalogue:
    made = MeasureCatalogue(owner)
    for code in codes:
        made.define(code, f"{owner} {code}", None, "Partner AB", "user:anna")
    return made


def test_standard_measures_are_offered_as_the_code_list_names_them() -> None:
    entries = offerable(STANDARD, None, None)
    assert entries["internship"] == {"code": "internship", "name": "Praktik", "description": None,
                                     "provider": None, "source": "standard"}  # fmt: skip
    assert set(entries) == set(STANDARD)


def test_the_municipality_s_own_entry_overrides_the_consortium_s_and_the_standard() -> None:
    shared = catalogue(CONSORTIUM, "internship", "mentor")
    own = catalogue("0180", "mentor")
    entries = offerable(STANDARD, shared, own)
    assert (entries["internship"]["source"], entries["internship"]["name"]) == (
        "consortium", "consortium internship"
    )  # fmt: skip
    assert (entries["mentor"]["source"], entries["mentor"]["provider"]) == (
        "municipality", "Partner AB"
    )  # fmt: skip
    assert "retired" not in entries["mentor"]


def test_a_retired_entry_leaves_its_code_out_even_the_standard_one() -> None:
    own = catalogue("0180", "internship", "mentor")
    own.retire("internship", "user:anna")
    own.retire("mentor", "user:anna")
    assert set(offerable(STANDARD, None, own)) == {"study_visit"}


def test_only_an_active_entry_of_the_catalogue_itself_is_retired() -> None:
    own = catalogue("0180", "mentor")
    check_retirable(own, "mentor", shared=False)
    own.retire("mentor", "user:anna")
    refusals = [("mentor", False, "municipality"), ("internship", True, "consortium")]
    for code, shared, owner in refusals:
        with pytest.raises(CommandRefused) as refused:
            check_retirable(own, code, shared)
        assert refused.value.field == "code"
        assert refused.value.reason == f"not an active entry of the {owner}'s own catalogue"


def test_only_a_type_the_municipality_can_offer_is_offered() -> None:
    entries = offerable(STANDARD, None, catalogue("0180", "mentor"))
    check_offerable(entries, "mentor")
    for code in ("no_such_measure", "Mentor", ""):
        with pytest.raises(CommandRefused) as refused:
            check_offerable(entries, code)
        assert (refused.value.field, refused.value.conflict) == ("measure_type", False)
        assert refused.value.reason == "not in the municipality's measure catalogue"


def test_a_shared_entry_is_kept_in_the_consortium_s_catalogue() -> None:
    assert catalogue_owner("0180", shared=True) == CONSORTIUM
    assert catalogue_owner("0180", shared=False) == "0180"
