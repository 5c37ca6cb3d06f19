"""Loading valid configuration files: profiles, tokens, selection, file lookup."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme

from bridge.azure import CLOUD_API_URL, BrokerSettings
from bridge.config import (
    ATTRIBUTES,
    DEFAULT_FIELDS,
    BackstageSettings,
    config_path,
    load_config,
)
from bridge.errors import ConfigError, UsageError
from bridge.fieldpath import FieldPath
from bridge.secrets import Secret
from tests.config.support import WriteConfig, config_problems, only_problem

MULTI = """\
profiles:
  - name: cloud
    organizations: [contoso, fabrikam]
    token_env: ADO_PAT
    backstage:
      filename: catalog.yaml
      attributes: [owner, catalog_name, application]
      fields:
        owner: metadata.annotations."example.com/owner"
        application: 'spec."example.com".app'
  - name: brokered
    organizations: [contoso]
    broker:
      url: https://broker.snyk.io
      token_env: SNYK_BROKER_TOKEN
  - name: on-premises
    organizations: ["*"]
    api_url: http://ado.example.internal/tfs/
    allow_http: true
    token_file: secrets/ado-pat
    concurrency: 4
    developers_days: 90
"""


@pytest.fixture
def multi(write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_config(MULTI)
    (path.parent / "secrets").mkdir()
    (path.parent / "secrets" / "ado-pat").write_text("file-token-value-0001\n")
    monkeypatch.setenv("ADO_PAT", "env-token-value-0001")
    monkeypatch.setenv("SNYK_BROKER_TOKEN", "broker-token-value-0001")
    return path


def test_multi_profile_file(multi: Path) -> None:
    config = load_config(multi)
    assert config.source == multi
    assert config.notes == ()
    cloud, brokered, on_premises = config.profiles

    assert cloud.name == "cloud"
    assert cloud.organizations == ("contoso", "fabrikam")
    assert cloud.api_url == CLOUD_API_URL
    assert cloud.token == Secret("env-token-value-0001")
    assert cloud.broker is None
    assert (cloud.concurrency, cloud.allow_http, cloud.ca_file, cloud.developers_days) == (
        16,
        False,
        None,
        0,
    )
    assert cloud.backstage is not None
    assert cloud.backstage.filename == "catalog.yaml"
    # Canonical order, whatever the order in the file.
    assert cloud.backstage.attributes == ("catalog_name", "owner", "application")
    assert dict(cloud.backstage.fields) == {
        "catalog_name": FieldPath(("metadata", "name")),
        "owner": FieldPath(("metadata", "annotations", "example.com/owner")),
        "application": FieldPath(("spec", "example.com", "app")),
    }

    assert brokered.token is None  # the broker client holds the PAT
    assert brokered.broker == BrokerSettings(
        "https://broker.snyk.io", Secret("broker-token-value-0001")
    )
    assert brokered.backstage is None

    assert on_premises.all_organizations
    assert not cloud.all_organizations
    assert on_premises.token == Secret("file-token-value-0001")  # trailing newline stripped
    assert on_premises.api_url == "http://ado.example.internal/tfs/"
    assert on_premises.allow_http
    assert (on_premises.concurrency, on_premises.developers_days) == (4, 90)


ISSUE_EXAMPLE = """\
profiles:
  - name: contoso                       # profile name
    organizations: [contoso, fabrikam]  # or ["*"]: every organization the token can see
    api_url: https://dev.azure.com/     # or a custom / on-prem URL
    token_env: AZURE_DEVOPS_EXT_PAT     # or token_file: /run/secrets/ado-pat
    broker:                             # optional, Snyk Broker
      url: https://broker.snyk.io
      token_env: SNYK_BROKER_TOKEN
    backstage:                          # optional: the "Add Backstage Catalog" option
      filename: catalog-info.yaml
      attributes: [catalog_name, title, category, lifecycle, owner, application]
      fields:                           # optional overrides, dot paths, quotes escape dots
        owner: spec.owner
        application: '"example.com".app'
"""


def test_the_issue_example_is_checked_for_broker_organizations(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNYK_BROKER_TOKEN", "broker-token-value-0001")
    path = write_config(ISSUE_EXAMPLE)
    problem = only_problem(path)
    assert (problem.key, problem.line) == ("profiles[0].organizations", 3)
    assert "one organization" in problem.message


def test_a_field_path_outside_the_entity_keys_loads_with_a_note(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNYK_BROKER_TOKEN", "broker-token-value-0001")
    path = write_config(ISSUE_EXAMPLE.replace("[contoso, fabrikam]", "[contoso]"))
    config = load_config(path)
    backstage = config.profiles[0].backstage
    assert backstage is not None
    assert backstage.fields["application"] == FieldPath(("example.com", "app"))
    ((note),) = [n for n in config.notes if "fields.application" in n]
    assert 'did you mean spec."example.com".app' in note


def test_backstage_defaults(write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADO_PAT", "env-token-value-0001")
    path = write_config(
        "profiles:\n  - {name: a, organizations: [o], token_env: ADO_PAT, backstage: {}}\n"
    )
    (profile,) = load_config(path).profiles
    assert profile.backstage == BackstageSettings()
    assert profile.backstage.attributes == ATTRIBUTES
    assert dict(profile.backstage.fields) == dict(DEFAULT_FIELDS)
    assert str(DEFAULT_FIELDS["application"]) == "spec.system"


def test_profile_selection_skips_the_environment_of_others(
    multi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADO_PAT")
    (multi.parent / "secrets" / "ado-pat").unlink()
    config = load_config(multi, profiles=["brokered"])
    assert [p.name for p in config.profiles] == ["brokered"]
    # The same file fails when every profile is wanted.
    error = config_problems(multi)
    assert [p.key for p in error.problems] == ["profiles[0].token_env", "profiles[2].token_file"]


def test_selection_keeps_file_order(multi: Path) -> None:
    config = load_config(multi, profiles=["on-premises", "cloud"])
    assert [p.name for p in config.profiles] == ["cloud", "on-premises"]


def test_unknown_profile_lists_the_known_ones(multi: Path) -> None:
    with pytest.raises(UsageError) as caught:
        load_config(multi, profiles=["cloud", "clod"])
    message = str(caught.value)
    assert "'clod'" in message
    assert "cloud, brokered, on-premises" in message


def test_organization_filter(multi: Path) -> None:
    named = load_config(multi, profiles=["cloud", "brokered"])
    assert named.organization_filter(["Contoso", "FABRIKAM"]) == {"contoso", "fabrikam"}
    assert named.organization_filter([]) == frozenset()
    with pytest.raises(UsageError) as caught:
        named.organization_filter(["contoso", "nowhere", "Elsewhere"])
    assert str(caught.value) == (
        "--org 'elsewhere', 'nowhere': no selected profile lists these organizations "
        "(organizations configured: contoso, fabrikam)"
    )
    # A profile reading every organization may see any name: nothing to refuse.
    assert load_config(multi).organization_filter(["Nowhere"]) == {"nowhere"}


def test_structural_problems_of_unselected_profiles_still_fail(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADO_PAT", "env-token-value-0001")
    path = write_config(
        "profiles:\n"
        "  - {name: a, organizations: [o], token_env: ADO_PAT}\n"
        "  - {name: b, organizations: [], token_env: ADO_PAT}\n"
    )
    problem = only_problem(path, profiles=["a"])
    assert (problem.key, problem.line) == ("profiles[1].organizations", 3)


def test_token_from_a_file_path_relative_to_the_config(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config("profiles:\n  - {name: a, organizations: [o], token_file: pat.txt}\n")
    (tmp_path / "pat.txt").write_text("  token-from-file-01 \r\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (profile,) = load_config(path).profiles
    assert profile.token == Secret("token-from-file-01")


def test_token_file_under_home(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ado-pat").write_text("token-from-home-01")
    path = write_config("profiles:\n  - {name: a, organizations: [o], token_file: ~/.ado-pat}\n")
    assert load_config(path).profiles[0].token == Secret("token-from-home-01")


def test_token_env_may_name_the_pipeline_token(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", "pipeline-token-0001")
    path = write_config(
        "profiles:\n  - {name: a, organizations: [o], token_env: SYSTEM_ACCESSTOKEN}\n"
    )
    config = load_config(path)
    assert config.profiles[0].token == Secret("pipeline-token-0001")
    assert config.notes == ()


def test_pipeline_token_replaces_an_unset_variable_in_azure_pipelines(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", "pipeline-token-0001")
    path = write_config("profiles:\n  - {name: a, organizations: [o], token_env: ADO_PAT}\n")
    config = load_config(path)
    assert config.profiles[0].token == Secret("pipeline-token-0001")
    (note,) = config.notes
    assert "ADO_PAT is not set" in note
    assert "SYSTEM_ACCESSTOKEN" in note
    assert "pipeline-token-0001" not in note


def test_the_profile_variable_wins_over_the_pipeline_token(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", "pipeline-token-0001")
    monkeypatch.setenv("ADO_PAT", "own-token-0001")
    path = write_config("profiles:\n  - {name: a, organizations: [o], token_env: ADO_PAT}\n")
    config = load_config(path)
    assert config.profiles[0].token == Secret("own-token-0001")
    assert config.notes == ()


def test_no_pipeline_fallback_outside_azure_pipelines(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", "pipeline-token-0001")
    path = write_config("profiles:\n  - {name: a, organizations: [o], token_env: ADO_PAT}\n")
    problem = only_problem(path)
    assert (problem.key, problem.line) == ("profiles[0].token_env", 2)
    assert "ADO_PAT is not set" in problem.message


def test_no_pipeline_fallback_for_a_broker_token(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", "pipeline-token-0001")
    path = write_config(
        "profiles:\n  - name: a\n    organizations: [o]\n    broker:\n"
        "      url: https://broker.snyk.io\n      token_env: SNYK_BROKER_TOKEN\n"
    )
    problem = only_problem(path)
    assert (problem.key, problem.line) == ("profiles[0].broker.token_env", 6)


def test_a_pat_beside_a_broker_is_ignored_with_a_note(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNYK_BROKER_TOKEN", "broker-token-value-0001")
    path = write_config(
        "profiles:\n  - name: a\n    organizations: [o]\n    token_env: ADO_PAT\n    broker:\n"
        "      url: https://broker.snyk.io\n      token_env: SNYK_BROKER_TOKEN\n"
    )
    config = load_config(path)  # ADO_PAT is unset, and that is fine: it is not used
    assert config.profiles[0].token is None
    (note,) = config.notes
    assert note.startswith("profiles[0].token_env is not used")


def test_loopback_http_needs_no_opt_in(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADO_PAT", "env-token-value-0001")
    path = write_config(
        "profiles:\n  - {name: a, organizations: [o], token_env: ADO_PAT, api_url: 'http://127.0.0.1:8080/'}\n"
    )
    assert load_config(path).profiles[0].api_url == "http://127.0.0.1:8080/"


def test_ca_file_is_trusted(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADO_PAT", "env-token-value-0001")
    ca = trustme.CA(organization_name="catalog-bridge test CA")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    path = write_config(
        "profiles:\n  - {name: a, organizations: [o], token_env: ADO_PAT, ca_file: ca.pem}\n"
    )
    (profile,) = load_config(path).profiles
    assert profile.ca_file == tmp_path / "ca.pem"
    context = profile.tls_verify()
    assert isinstance(context, ssl.SSLContext)
    # get_ca_certs() is typed loosely: a subject is a tuple of (name, value) pairs.
    organizations = [
        dict(pair for item in cert["subject"] for pair in item if isinstance(pair, tuple)).get(
            "organizationName"
        )
        for cert in context.get_ca_certs()
    ]
    assert "catalog-bridge test CA" in organizations


def test_without_ca_file_the_system_store_is_used(multi: Path) -> None:
    assert load_config(multi).profiles[0].tls_verify() is True


def test_config_path_order(tmp_path: Path) -> None:
    environ = {"CATALOG_BRIDGE_CONFIG": str(tmp_path / "from-env.yaml")}
    assert config_path("given.yaml", environ) == Path("given.yaml")
    assert config_path(None, environ) == tmp_path / "from-env.yaml"
    assert config_path(None, {"CATALOG_BRIDGE_CONFIG": ""}) == Path("catalog-bridge.yaml")
    assert config_path(None, {}) == Path("catalog-bridge.yaml")


def test_load_without_a_path_uses_the_environment_variable(
    multi: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    renamed = multi.rename(multi.parent / "team.yaml")
    monkeypatch.setenv("CATALOG_BRIDGE_CONFIG", str(renamed))
    assert load_config().source == renamed


def test_load_without_a_path_reads_the_working_folder(
    multi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(multi.parent)
    config = load_config(environ={"ADO_PAT": "x" * 20, "SNYK_BROKER_TOKEN": "y" * 20})
    assert config.source == Path("catalog-bridge.yaml")
    assert config.profiles[0].token == Secret("x" * 20)


def test_missing_file_mentions_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'nope.yaml'}: ")
    assert "catalog-bridge init" in message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"# only a comment\n", "empty"),
        (b"profiles: \xff\n", "not UTF-8"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert fragment in str(caught.value)


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_unreadable_config_file(write_config: WriteConfig) -> None:
    path = write_config("profiles: []\n")
    path.chmod(0)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path)
