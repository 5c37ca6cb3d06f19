"""API URL + organization -> service base URLs; plain-http policy; repository links."""

from __future__ import annotations

import pytest

from bridge.azure import (
    BrokerSettings,
    Service,
    normalize_repository_url,
    repository_web_url,
    resolve_endpoints,
)
from bridge.azure.broker import broker_endpoints
from bridge.errors import ConfigError
from bridge.secrets import Secret


def test_cloud_services_each_have_their_host() -> None:
    found = resolve_endpoints("https://dev.azure.com/", "fabrikam")
    assert (
        found.url(Service.CORE, "_apis/projects") == "https://dev.azure.com/fabrikam/_apis/projects"
    )
    assert found.base(Service.GRAPH) == "https://vssps.dev.azure.com/fabrikam"
    assert found.base(Service.ENTITLEMENTS) == "https://vsaex.dev.azure.com/fabrikam"
    assert found.base(Service.SEARCH) == "https://almsearch.dev.azure.com/fabrikam"
    assert found.base(Service.PROFILE) == "https://app.vssps.visualstudio.com"
    assert found.web == "https://dev.azure.com/fabrikam"


def test_cloud_api_url_is_case_and_slash_insensitive() -> None:
    assert resolve_endpoints("HTTPS://Dev.Azure.com", "fabrikam").core == (
        "https://dev.azure.com/fabrikam"
    )


def test_legacy_host_keeps_its_base_and_uses_cloud_services() -> None:
    found = resolve_endpoints("https://Fabrikam.visualstudio.com/DefaultCollection/", "fabrikam")
    assert found.core == "https://fabrikam.visualstudio.com/DefaultCollection"
    assert found.base(Service.GRAPH) == "https://vssps.dev.azure.com/fabrikam"


def test_legacy_host_of_another_organization_is_refused() -> None:
    with pytest.raises(ConfigError, match="contoso"):
        resolve_endpoints("https://contoso.visualstudio.com/", "fabrikam")


@pytest.mark.parametrize(
    ("api_url", "core", "profile"),
    [
        (
            "https://tfs.example.com/tfs/",
            "https://tfs.example.com/tfs/Main",
            "https://tfs.example.com/tfs",
        ),
        (
            "https://ado.example.com:8443",
            "https://ado.example.com:8443/Main",
            "https://ado.example.com:8443",
        ),
        ("http://127.0.0.1:7340/", "http://127.0.0.1:7340/Main", "http://127.0.0.1:7340"),
    ],
)
def test_any_other_api_url_serves_every_service_under_itself(
    api_url: str, core: str, profile: str
) -> None:
    found = resolve_endpoints(api_url, "Main")
    for service in (Service.CORE, Service.GRAPH, Service.ENTITLEMENTS, Service.SEARCH):
        assert found.base(service) == core
    assert found.url(Service.PROFILE, "_apis/accounts") == f"{profile}/_apis/accounts"


def test_organization_names_are_percent_encoded() -> None:
    assert resolve_endpoints("https://srv/", "My Coll").core == "https://srv/My%20Coll"


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_plain_http_is_allowed_to_loopback(host: str) -> None:
    assert resolve_endpoints(f"http://{host}:8080/", "org").core == f"http://{host}:8080/org"


def test_plain_http_to_another_host_is_refused_unless_opted_in() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        resolve_endpoints("http://tfs.example.com/tfs/", "Main")
    opted_in = resolve_endpoints("http://tfs.example.com/tfs/", "Main", allow_http=True)
    assert opted_in.core == "http://tfs.example.com/tfs/Main"


@pytest.mark.parametrize("api_url", ["ftp://example.com/", "dev.azure.com", "https://"])
def test_unusable_api_urls_are_config_errors(api_url: str) -> None:
    with pytest.raises(ConfigError):
        resolve_endpoints(api_url, "org")


def test_without_organization_only_the_profile_service_resolves() -> None:
    found = resolve_endpoints("https://dev.azure.com/", None)
    assert found.base(Service.PROFILE) == "https://app.vssps.visualstudio.com"
    with pytest.raises(ConfigError, match="needs an organization"):
        found.base(Service.CORE)


def test_broker_endpoints_have_no_organization_segment_and_no_profile() -> None:
    token = Secret("broker-token-1f0c2a9e-5d4b")
    found = broker_endpoints(BrokerSettings("https://broker.snyk.io/", token), "fabrikam")
    assert found.url(Service.CORE, "_apis/projects") == (
        "https://broker.snyk.io/broker/broker-token-1f0c2a9e-5d4b/_apis/projects"
    )
    assert found.base(Service.ENTITLEMENTS) == found.base(Service.CORE)
    with pytest.raises(ConfigError, match="Snyk Broker"):
        found.base(Service.PROFILE)
    assert "broker-token-1f0c2a9e-5d4b" not in repr(found)


def test_broker_over_plain_http_needs_loopback_or_opt_in() -> None:
    token = Secret("broker-token-aaaaaaaaaaaa")
    with pytest.raises(ConfigError, match="plain http"):
        broker_endpoints(BrokerSettings("http://broker.internal:8000", token), "fabrikam")
    loopback = broker_endpoints(BrokerSettings("http://127.0.0.1:8000", token), "fabrikam")
    assert loopback.core == "http://127.0.0.1:8000/broker/broker-token-aaaaaaaaaaaa"


def test_broker_token_must_be_a_secret() -> None:
    with pytest.raises(TypeError):
        BrokerSettings("https://broker.snyk.io", "plain-string-token")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://fabrikam@dev.azure.com/fabrikam/My%20Project/_git/My%20Repo",
            "https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo",
        ),
        (
            "HTTPS://Dev.Azure.COM:443/fabrikam/P/_git/R/",
            "https://dev.azure.com/fabrikam/P/_git/R",
        ),
        (
            "https://fabrikam.visualstudio.com/DefaultCollection/P/_git/R",
            "https://dev.azure.com/fabrikam/P/_git/R",
        ),
        ("https://fabrikam.visualstudio.com/P/_git/R", "https://dev.azure.com/fabrikam/P/_git/R"),
        (
            "https://dev.azure.com/fabrikam/P/_git/R/pullrequest/12?_a=files",
            "https://dev.azure.com/fabrikam/P/_git/R",
        ),
        (
            "https://dev.azure.com/fabrikam/P/_git/R?path=/catalog-info.yaml&version=GBmain",
            "https://dev.azure.com/fabrikam/P/_git/R",
        ),
        ("http://tfs:8080/tfs/Coll/P/_git/R", "http://tfs:8080/tfs/Coll/P/_git/R"),
    ],
)
def test_repository_urls_normalize_to_one_form(url: str, expected: str) -> None:
    assert normalize_repository_url(url) == expected


def test_repository_web_url_encodes_names() -> None:
    assert repository_web_url("https://dev.azure.com/fabrikam", "My Project", "a/b") == (
        "https://dev.azure.com/fabrikam/My%20Project/_git/a%2Fb"
    )
