"""Invalid configuration files: one problem per mistake, with its key path and line.

Every case goes through ``only_problem``/``config_problems``, which also check that the
literal token used in these files never appears in any message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import InvalidConfigError, load_config
from bridge.errors import EXIT_CONFIG, ConfigError, exit_code_for
from bridge.secrets import redact
from tests.config.support import LITERAL_PAT, WriteConfig, config_problems, only_problem

HEAD = "profiles:\n  - name: a\n    organizations: [contoso]\n"  # a profile, lines 1-3
ORGANIZATIONS = (
    "profiles:\n  - name: a\n    token_env: ADO_PAT\n    organizations:\n"  # items: line 5
)


@pytest.fixture(autouse=True)
def pat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADO_PAT", "env-token-value-0001")
    monkeypatch.setenv("SNYK_BROKER_TOKEN", "broker-token-value-0001")


# (file text, key path, line, fragment of the message)
CASES = [
    pytest.param(
        HEAD + f"    token: {LITERAL_PAT}\n",
        "profiles[0].token",
        4,
        "token_env: AZURE_DEVOPS_EXT_PAT",
        id="literal-token-key",
    ),
    pytest.param(
        HEAD + f"    token_env: ADO_PAT\n    personalAccessToken: {LITERAL_PAT}\n",
        "profiles[0].personalAccessToken",
        5,
        "must not be written in the configuration file",
        id="literal-token-camel-case-key",
    ),
    pytest.param(
        HEAD + f"    token_env: ADO_PAT\n    password: {LITERAL_PAT}\n",
        "profiles[0].password",
        5,
        "token_file: PATH",
        id="literal-password",
    ),
    pytest.param(
        HEAD + f"    broker:\n      url: https://broker.snyk.io\n      token: {LITERAL_PAT}\n",
        "profiles[0].broker.token",
        6,
        "token_env: SNYK_BROKER_TOKEN",
        id="literal-broker-token",
    ),
    pytest.param(
        HEAD + f"    token_env: {LITERAL_PAT}\n",
        "profiles[0].token_env",
        4,
        "looks like a token",
        id="pat-as-variable-name",
    ),
    pytest.param(
        HEAD + "    token_env: " + "A1b2" * 21 + "\n",
        "profiles[0].token_env",
        4,
        "looks like a token",
        id="new-format-pat-as-variable-name",
    ),
    pytest.param(
        HEAD + f"    token_file: {LITERAL_PAT}\n",
        "profiles[0].token_file",
        4,
        "looks like a token, not a file path",
        id="pat-as-file-name",
    ),
    pytest.param(
        HEAD + f"    token_env: ADO_PAT\n    api_url: https://user:{LITERAL_PAT}@dev.azure.com/\n",
        "profiles[0].api_url",
        5,
        "must not carry credentials",
        id="credentials-in-url",
    ),
    pytest.param(
        HEAD
        + "    broker:\n      url: https://broker.snyk.io/broker/0d6a8c2e-3f1b-4c5d-9e7f-a1b2c3d4e5f6\n"
        "      token_env: SNYK_BROKER_TOKEN\n",
        "profiles[0].broker.url",
        5,
        "token in its path",
        id="broker-token-in-url",
    ),
    pytest.param(
        HEAD + "    token_env: $ADO_PAT\n",
        "profiles[0].token_env",
        4,
        "without $: token_env: ADO_PAT",
        id="variable-reference",
    ),
    pytest.param(
        HEAD + "    token_env: ado pat\n",
        "profiles[0].token_env",
        4,
        "environment variable name",
        id="bad-variable-name",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    token_file: /run/secrets/pat\n",
        "profiles[0].token_file",
        5,
        "not both",
        id="token-env-and-file",
    ),
    pytest.param(HEAD, "profiles[0]", 2, "needs token_env", id="no-token"),
    pytest.param(
        HEAD + "    broker:\n      url: https://broker.snyk.io\n",
        "profiles[0].broker",
        4,
        "needs token_env",
        id="broker-without-token",
    ),
    pytest.param(
        HEAD + "    broker:\n      token_env: SNYK_BROKER_TOKEN\n",
        "profiles[0].broker",
        4,
        "needs url",
        id="broker-without-url",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    tokn_file: x\n",
        "profiles[0].tokn_file",
        5,
        "did you mean token_file?",
        id="unknown-key-close",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    apiUrl: https://dev.azure.com/\n",
        "profiles[0].apiUrl",
        5,
        "did you mean api_url?",
        id="unknown-key-camel-case",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    colour: blue\n",
        "profiles[0].colour",
        5,
        "expected one of: name, organizations",
        id="unknown-key-far",
    ),
    pytest.param(
        "profile:\n  - name: a\n",
        "profile",
        1,
        "did you mean profiles?",
        id="unknown-top-level-key",
    ),
    pytest.param("profiles: []\n", "profiles", 1, "at least one profile", id="no-profiles"),
    pytest.param("{}\n", "", 1, "needs profiles", id="no-profiles-key"),
    pytest.param("profiles: {a: 1}\n", "profiles", 1, "must be a list", id="profiles-not-a-list"),
    pytest.param("- a\n", "", 1, "must be a mapping, not a list", id="root-not-a-mapping"),
    pytest.param(
        "profiles:\n  - contoso\n",
        "profiles[0]",
        2,
        "mapping, not a string",
        id="profile-not-a-mapping",
    ),
    pytest.param(
        "profiles:\n  - organizations: [a]\n    token_env: ADO_PAT\n",
        "profiles[0]",
        2,
        "needs name",
        id="no-name",
    ),
    pytest.param(
        "profiles:\n  - name: '  '\n    organizations: [a]\n    token_env: ADO_PAT\n",
        "profiles[0].name",
        2,
        "blank",
        id="blank-name",
    ),
    pytest.param(
        "profiles:\n  - name: 7\n    organizations: [a]\n    token_env: ADO_PAT\n",
        "profiles[0].name",
        2,
        "must be a string, not a whole number",
        id="name-not-a-string",
    ),
    pytest.param(
        "profiles:\n  - name: a\n    organizations: []\n    token_env: ADO_PAT\n",
        "profiles[0].organizations",
        3,
        "at least one organization",
        id="empty-organizations",
    ),
    pytest.param(
        "profiles:\n  - name: a\n    token_env: ADO_PAT\n",
        "profiles[0]",
        2,
        "at least one organization",
        id="missing-organizations",
    ),
    pytest.param(
        "profiles:\n  - name: a\n    organizations: contoso\n    token_env: ADO_PAT\n",
        "profiles[0].organizations",
        3,
        "write [name] for one",
        id="organizations-not-a-list",
    ),
    pytest.param(
        ORGANIZATIONS + "      - contoso\n      - '*'\n",
        "profiles[0].organizations",
        5,
        "cannot be combined",
        id="star-mixed-with-names",
    ),
    pytest.param(
        ORGANIZATIONS + "      - contoso\n      - 'con*'\n",
        "profiles[0].organizations[1]",
        6,
        "patterns are not supported",
        id="organization-pattern",
    ),
    pytest.param(
        ORGANIZATIONS + "      - contoso\n      - Contoso\n",
        "profiles[0].organizations[1]",
        6,
        "listed twice",
        id="duplicate-organization",
    ),
    pytest.param(
        ORGANIZATIONS + "      - contoso\n      - 2024\n",
        "profiles[0].organizations[1]",
        6,
        "not a whole number",
        id="organization-not-a-string",
    ),
    pytest.param(
        "profiles:\n  - name: a\n    organizations: [a/b]\n    token_env: ADO_PAT\n",
        "profiles[0].organizations[0]",
        3,
        "invalid organization name",
        id="organization-with-slash",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    api_url: https://fabrikam.visualstudio.com/\n",
        "profiles[0].organizations[0]",
        3,
        "belongs to organization 'fabrikam'",
        id="legacy-url-of-another-organization",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    api_url: ftp://ado.example.com/\n",
        "profiles[0].api_url",
        5,
        "https://",
        id="api-url-not-http",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    api_url: dev.azure.com\n",
        "profiles[0].api_url",
        5,
        "absolute https:// URL",
        id="api-url-relative",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    api_url: http://ado.example.com/\n",
        "profiles[0].api_url",
        5,
        "allow_http: true",
        id="plain-http-non-loopback",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    allow_http: yes\n",
        "profiles[0].allow_http",
        5,
        "true or false",
        id="allow-http-yaml-11-boolean",
    ),
    pytest.param(
        HEAD
        + "    broker:\n      url: http://broker.example.com\n      token_env: SNYK_BROKER_TOKEN\n",
        "profiles[0].broker.url",
        5,
        "plain http://",
        id="broker-plain-http",
    ),
    pytest.param(
        HEAD + "    broker:\n      url: 'broker.snyk.io'\n      token_env: SNYK_BROKER_TOKEN\n",
        "profiles[0].broker.url",
        5,
        "absolute https:// URL",
        id="broker-url-invalid",
    ),
    pytest.param(
        HEAD + "    broker: https://broker.snyk.io\n",
        "profiles[0].broker",
        4,
        "must be a mapping",
        id="broker-not-a-mapping",
    ),
    pytest.param(
        "profiles:\n  - name: a\n    organizations: ['*']\n    broker:\n      url: https://broker.snyk.io\n"
        "      token_env: SNYK_BROKER_TOKEN\n",
        "profiles[0].organizations",
        3,
        'cannot be "*" through a Snyk Broker',
        id="broker-with-star",
    ),
    pytest.param(
        "profiles:\n  - name: a\n    organizations: [a, b]\n    broker:\n      url: https://broker.snyk.io\n"
        "      token_env: SNYK_BROKER_TOKEN\n",
        "profiles[0].organizations",
        3,
        "one profile per organization",
        id="broker-with-two-organizations",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    concurrency: 0\n",
        "profiles[0].concurrency",
        5,
        "between 1 and 64",
        id="concurrency-too-low",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    concurrency: 8.5\n",
        "profiles[0].concurrency",
        5,
        "whole number, not a number",
        id="concurrency-not-an-integer",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    concurrency: true\n",
        "profiles[0].concurrency",
        5,
        "whole number, not true or false",
        id="concurrency-boolean",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    developers_days: -1\n",
        "profiles[0].developers_days",
        5,
        "between 0 and 3650",
        id="developers-days-negative",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    ca_file: [a]\n",
        "profiles[0].ca_file",
        5,
        "must be a string, not a list",
        id="ca-file-not-a-string",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage: true\n",
        "profiles[0].backstage",
        5,
        "must be a mapping, not true or false",
        id="backstage-not-a-mapping",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      filename: docs/catalog-info.yaml\n",
        "profiles[0].backstage.filename",
        6,
        "repository root",
        id="catalog-filename-with-folder",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      attributes: []\n",
        "profiles[0].backstage.attributes",
        6,
        "at least one",
        id="no-attributes",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      attributes: [owner, system]\n",
        "profiles[0].backstage.attributes[1]",
        6,
        "unknown attribute 'system'; did you mean application?",
        id="unknown-attribute-alias",
    ),
    pytest.param(
        HEAD
        + "    token_env: ADO_PAT\n    backstage:\n      attributes:\n"
        + "        - owner\n        - lifecyle\n",
        "profiles[0].backstage.attributes[1]",
        8,
        "did you mean lifecycle?",
        id="unknown-attribute-typo",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      attributes: [owner, owner]\n",
        "profiles[0].backstage.attributes[1]",
        6,
        "listed twice",
        id="duplicate-attribute",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      attributes: owner\n",
        "profiles[0].backstage.attributes",
        6,
        "must be a list",
        id="attributes-not-a-list",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      attributes: [owner]\n      fields:\n"
        "        title: metadata.title\n",
        "profiles[0].backstage.fields.title",
        8,
        "not selected",
        id="field-of-unselected-attribute",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      fields:\n        team: spec.owner\n",
        "profiles[0].backstage.fields.team",
        7,
        "unknown attribute 'team'",
        id="field-of-unknown-attribute",
    ),
    pytest.param(
        HEAD
        + "    token_env: ADO_PAT\n    backstage:\n      fields:\n        owner: spec..owner\n",
        "profiles[0].backstage.fields.owner",
        7,
        "invalid field path: empty segment",
        id="malformed-field-path",
    ),
    pytest.param(
        HEAD
        + "    token_env: ADO_PAT\n    backstage:\n      fields:\n        owner: 'spec.\"a.b'\n",
        "profiles[0].backstage.fields.owner",
        7,
        "unbalanced quote",
        id="field-path-unbalanced-quote",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      fields:\n        owner: 42\n",
        "profiles[0].backstage.fields.owner",
        7,
        "field path such as spec.owner",
        id="field-path-not-a-string",
    ),
    pytest.param(
        HEAD + "    token_env: ADO_PAT\n    backstage:\n      fields: spec.owner\n",
        "profiles[0].backstage.fields",
        6,
        "must map attribute names",
        id="fields-not-a-mapping",
    ),
]


@pytest.mark.parametrize(("text", "key", "line", "fragment"), CASES)
def test_each_mistake_is_one_problem(
    write_config: WriteConfig, text: str, key: str, line: int, fragment: str
) -> None:
    problem = only_problem(write_config(text))
    assert (problem.key, problem.line) == (key, line)
    assert fragment in problem.message


def test_single_problem_message_format(write_config: WriteConfig) -> None:
    path = write_config(HEAD + "    token_env: ADO_PAT\n    concurrency: 0\n")
    error = config_problems(path)
    assert str(error) == (f"{path}, line 5: profiles[0].concurrency: must be between 1 and 64")
    assert error.key == "profiles[0].concurrency"
    assert error.source == str(path)
    assert exit_code_for(error) == EXIT_CONFIG


def test_every_problem_is_reported_at_once_in_line_order(write_config: WriteConfig) -> None:
    path = write_config(
        "profiles:\n"
        "  - name: contoso\n"
        "    organizations: []\n"
        f"    token: {LITERAL_PAT}\n"
        "    backstage:\n"
        "      attributes: [owner, nme]\n"
        "  - name: contoso\n"
        "    organizations: [a]\n"
        "    token_env: ADO_PAT\n"
        "    api_url: http://ado.example.com/\n"
    )
    error = config_problems(path)
    assert [(p.line, p.key) for p in error.problems] == [
        (3, "profiles[0].organizations"),
        (4, "profiles[0].token"),
        (6, "profiles[0].backstage.attributes[1]"),
        (7, "profiles[1].name"),
        (10, "profiles[1].api_url"),
    ]
    text = str(error)
    assert text.startswith(f"{path}: 5 problems:\n  line 3: profiles[0].organizations: ")
    assert "duplicate profile name 'contoso' (also profiles[0])" in text
    assert error.key is None


def test_a_literal_token_is_redacted_even_from_other_text(write_config: WriteConfig) -> None:
    literal = LITERAL_PAT[::-1]  # used by no other test, so not registered yet
    assert redact(literal) == literal
    error = config_problems(write_config(HEAD + f"    pat: {literal}\n"))
    assert literal not in error.args[0]
    # Seen once, the literal is registered as a secret: nothing printed later shows it.
    assert redact(f"echo {literal}") == "echo ***"


def test_environment_problems_are_reported_with_structure_problems(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADO_PAT")
    path = write_config(
        HEAD
        + "    token_env: ADO_PAT\n  - name: b\n    organizations: []\n    token_env: ADO_PAT\n"
    )
    error = config_problems(path)
    assert [(p.line, p.key) for p in error.problems] == [
        (4, "profiles[0].token_env"),
        (6, "profiles[1].organizations"),
        (7, "profiles[1].token_env"),  # a profile with problems still has its variable checked
    ]


def test_a_profile_with_problems_still_has_its_variable_and_files_checked(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Before, a missing token variable or CA file came only once the rest was fixed.
    monkeypatch.delenv("ADO_PAT")
    monkeypatch.delenv("SNYK_BROKER_TOKEN")
    path = write_config(
        HEAD
        + "    token_env: ADO_PAT\n    concurrency: 0\n    ca_file: ca.pem\n"
        + "  - name: b\n    organizations: [fabrikam]\n"
        + "    broker: {url: 'http://broker.example', token_env: SNYK_BROKER_TOKEN}\n"
    )
    error = config_problems(path)
    assert [(p.line, p.key) for p in error.problems] == [
        (4, "profiles[0].token_env"),
        (5, "profiles[0].concurrency"),
        (6, "profiles[0].ca_file"),
        (9, "profiles[1].broker.url"),
        (9, "profiles[1].broker.token_env"),
    ]
    assert f"CA file {str(tmp_path / 'ca.pem')!r} does not exist" in str(error)
    assert "environment variable SNYK_BROKER_TOKEN is not set" in str(error)


@pytest.mark.parametrize(
    ("value", "state"), [(None, "is not set"), ("", "is empty"), ("  ", "is empty")]
)
def test_unusable_variable(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, value: str | None, state: str
) -> None:
    if value is None:
        monkeypatch.delenv("ADO_PAT")
    else:
        monkeypatch.setenv("ADO_PAT", value)
    problem = only_problem(write_config(HEAD + "    token_env: ADO_PAT\n"))
    assert (problem.key, problem.line) == ("profiles[0].token_env", 4)
    assert f"environment variable ADO_PAT {state}" in problem.message
    assert "Azure Pipelines" not in problem.message


def test_unset_variable_in_azure_pipelines_explains_the_env_mapping(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    path = write_config(HEAD + "    token_env: SYSTEM_ACCESSTOKEN\n")
    problem = only_problem(path)
    assert (problem.key, problem.line) == ("profiles[0].token_env", 4)
    assert "SYSTEM_ACCESSTOKEN: $(System.AccessToken)" in problem.message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (f"{LITERAL_PAT}\nsecond line\n".encode(), "only the token, on one line"),
        (b"\xff\xfe" + LITERAL_PAT.encode(), "only the token, on one line"),
        (b"x" * (65 << 10), "only the token, on one line"),
    ],
)
def test_unusable_token_file(
    write_config: WriteConfig, tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    if content is not None:
        (tmp_path / "pat").write_bytes(content)
    problem = only_problem(write_config(HEAD + "    token_file: pat\n"))
    assert (problem.key, problem.line) == ("profiles[0].token_file", 4)
    assert fragment in problem.message
    assert str(tmp_path / "pat") in problem.message


def test_token_file_that_is_a_folder(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "pat").mkdir()
    problem = only_problem(write_config(HEAD + "    token_file: pat\n"))
    assert (problem.key, problem.line) == ("profiles[0].token_file", 4)
    assert "cannot read token file" in problem.message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "does not exist"), (b"not a certificate\n", "no PEM certificate")],
)
def test_unusable_ca_file(
    write_config: WriteConfig, tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    if content is not None:
        (tmp_path / "ca.pem").write_bytes(content)
    problem = only_problem(write_config(HEAD + "    token_env: ADO_PAT\n    ca_file: ca.pem\n"))
    assert (problem.key, problem.line) == ("profiles[0].ca_file", 5)
    assert fragment in problem.message


def test_yaml_syntax_error_has_its_line(write_config: WriteConfig) -> None:
    problem = only_problem(write_config("profiles:\n  - name: a\n    organizations: [a\n"))
    assert problem.line == 4
    assert problem.message.startswith("not valid YAML: ")


def test_duplicate_keys_are_a_yaml_error(write_config: WriteConfig) -> None:
    problem = only_problem(
        write_config(HEAD + "    token_env: ADO_PAT\n    token_env: OTHER_PAT\n")
    )
    assert problem.line == 5
    assert "unique" in problem.message


def test_a_second_document_is_refused(write_config: WriteConfig) -> None:
    problem = only_problem(write_config(HEAD + "    token_env: ADO_PAT\n---\nprofiles: []\n"))
    assert problem.line == 5
    assert "second YAML document" in problem.message


def test_invalid_config_error_is_a_config_error() -> None:
    assert issubclass(InvalidConfigError, ConfigError)
    with pytest.raises(ConfigError):
        load_config(Path("/nonexistent/catalog-bridge.yaml"))
