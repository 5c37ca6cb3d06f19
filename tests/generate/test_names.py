"""Backstage names for repositories: valid, lower-case, unique, whatever the order."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from bridge.catalog.formats import is_valid_object_name
from bridge.generate.names import (
    MAX_LENGTH,
    NameRequest,
    assign_names,
    backstage_name,
)
from tests.generate.conftest import HOSTILE_NAMES


@given(st.text(max_size=120))
def test_any_text_becomes_a_valid_lower_case_name_or_nothing(text: str) -> None:
    name = backstage_name(text)
    assert name == "" or (is_valid_object_name(name) and name == name.lower())


def test_names_follow_backstage_rules() -> None:
    assert backstage_name("Payments API") == "payments-api"
    assert backstage_name("a: b #c") == "a-b-c"
    assert backstage_name("my.repo.v2") == "my.repo.v2"
    assert backstage_name("--edge__case..") == "edge__case"
    assert backstage_name("Zürich Ünïcode ☃") == "zurich-unicode"
    assert backstage_name("日本語") == ""
    long = backstage_name("x" * 62 + "-y" * 10)
    assert len(long) <= MAX_LENGTH and is_valid_object_name(long)


def _requests() -> list[NameRequest]:
    out = []
    for index, name in enumerate(HOSTILE_NAMES):
        for project in ("Payments", "Payments Platform"):
            out.append(NameRequest(f"contoso/{project}/{index}", "contoso", project, name))
    out.append(NameRequest("fabrikam/Payments/x", "fabrikam", "Payments", "Yes"))
    return out


def test_names_are_unique_valid_and_independent_of_order() -> None:
    requests = _requests()
    assigned = assign_names(requests, taken={"Payments-API"})
    names = [entry.name for entry in assigned.values()]
    assert all(is_valid_object_name(name) and name == name.lower() for name in names)
    assert len(set(names)) == len(names) == len(requests)
    assert "payments-api" not in names  # taken by an existing catalog file
    shuffled = list(requests)
    random.Random(7).shuffle(shuffled)
    again = assign_names(shuffled, taken={"payments-api"})
    assert {k: v.name for k, v in again.items()} == {k: v.name for k, v in assigned.items()}


def test_a_name_wanted_once_is_kept_and_collisions_get_the_project_then_a_hash() -> None:
    assigned = assign_names(
        [
            NameRequest("1", "contoso", "Payments", "billing"),
            NameRequest("2", "contoso", "Identity", "Billing"),
            NameRequest("3", "fabrikam", "Identity", "billing"),
            NameRequest("4", "contoso", "Identity", "ledger"),
            NameRequest("5", "contoso", "Identity", "日本語"),
        ]
    )
    assert assigned["4"].name == "ledger"
    assert assigned["1"].name == "payments-billing"
    # Same project name in two organizations: the prefix is not enough.
    assert assigned["2"].name.startswith("identity-billing-")
    assert assigned["3"].name.startswith("identity-billing-")
    assert assigned["2"].name != assigned["3"].name
    assert assigned["5"].name.startswith("repository-")
