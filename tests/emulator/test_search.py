"""Code Search: the Backstage discovery query, paging, the $skip limit and filters."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bridge.emulator import GenerationSpec, RunningEmulator
from tests.emulator.conftest import API, generated_client

BACKSTAGE_QUERY = {
    "searchText": "path:/catalog-info.yaml repo:* proj:*",
    "$orderBy": [{"field": "path", "sortOrder": "ASC"}],
    "$skip": 0,
    "$top": 1000,
}


def test_backstage_discovery_query(client: httpx.Client) -> None:
    answer = client.post(
        "/contoso/_apis/search/codesearchresults", params=API, json=BACKSTAGE_QUERY
    )
    assert answer.status_code == 200
    body = answer.json()
    found = {(r["project"]["name"], r["repository"]["name"], r["path"]) for r in body["results"]}
    # Disabled (legacy-billing) and empty repositories are not indexed; nested files are not
    # matched by a root path.
    assert found == {
        ("Payments", "payments-api", "/catalog-info.yaml"),
        ("Identity", "identity-service", "/catalog-info.yaml"),
    }
    assert body["count"] == 2 and body["infoCode"] == 0
    result = body["results"][0]
    assert set(result) >= {
        "fileName",
        "path",
        "matches",
        "collection",
        "project",
        "repository",
        "versions",
        "contentId",
    }
    assert result["collection"] == {"name": "contoso"}
    assert result["repository"]["type"] == "git"


def test_scoped_and_filtered_searches(client: httpx.Client) -> None:
    url = "/contoso/Identity/_apis/search/codesearchresults"
    anywhere = client.post(
        url, params=API, json={"searchText": "path:/**/catalog-info.yaml", "$top": 10}
    )
    assert sorted(r["path"] for r in anywhere.json()["results"]) == ["/docs/catalog-info.yaml"]
    words = client.post("/contoso/_apis/search/codesearchresults", params=API, json={
        "searchText": "payments-api file:catalog-info.yaml", "$top": 10, "includeFacets": True,
    }).json()  # fmt: skip
    assert [r["repository"]["name"] for r in words["results"]] == ["payments-api"]
    assert words["facets"]["Project"] == [{"name": "Payments", "id": "Payments", "resultCount": 1}]
    other_branch = client.post("/contoso/_apis/search/codesearchresults", params=API, json={
        **BACKSTAGE_QUERY, "filters": {"Branch": ["develop"]},
    }).json()  # fmt: skip
    assert other_branch["count"] == 0  # only default branches are indexed


def test_paging_and_the_skip_limit(serve: Callable[..., RunningEmulator]) -> None:
    spec = GenerationSpec(
        seed=5, organizations=1, projects_per_organization=30, repositories_per_project=40,
        invalid=0, multi_entity=0, missing=0, empty=0, disabled=0,
    )  # fmt: skip
    seen: list[tuple[str, str]] = []
    with generated_client(serve, spec) as (client, org):
        url = f"/{org}/_apis/search/codesearchresults"
        skip = 0
        while True:
            body = client.post(
                url, params=API, json={**BACKSTAGE_QUERY, "$skip": skip, "$top": 500}
            ).json()
            assert body["count"] == 1200
            seen += [(r["repository"]["id"], r["path"]) for r in body["results"]]
            skip += 500
            if skip >= 1000 or skip >= body["count"]:
                break
        refused = client.post(url, params=API, json={**BACKSTAGE_QUERY, "$skip": 1000, "$top": 100})
        trimmed = client.post(url, params=API, json={**BACKSTAGE_QUERY, "$top": 5000}).json()
    assert len(seen) == len(set(seen)) == 1000
    assert refused.status_code == 400
    assert trimmed["infoCode"] == 8 and len(trimmed["results"]) == 1000
