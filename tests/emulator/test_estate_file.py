"""Estate files: clear errors naming the key path, token values from the environment, the sample."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bridge.emulator import EmulatorOptions, load_estate, parse_estate, sample_estate_path
from bridge.emulator.estate import SCOPES
from bridge.errors import EmulatorError
from bridge.secrets import redact

TOKENS = "tokens: [{name: t, value: token-value-123456}]\n"


PROJECT = TOKENS + "organizations: [{name: a, projects: [%s]}]\n"
REPOS = PROJECT % "{name: p, repositories: [%s]}"
TOKEN = "tokens: [%s]\n"
FAULTS = TOKENS + "options: {faults: {%s}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("organizations: []\n", "<root>: missing required key 'tokens'"),
        (TOKENS + "organisations: []\n", "organisations: unknown key"),
        (REPOS % "{name: 3}",
         "organizations[0].projects[0].repositories[0].name: expected a non-empty string, got 3"),
        (REPOS % "{name: r, disabled: maybe}",
         "repositories[0].disabled: expected true or false, got the string 'maybe'"),
        (REPOS % "{name: r, empty: true, files: {a: b}}",
         "repositories[0]: an empty repository has no files and no commits"),
        (REPOS % "{name: r}, {name: R}", "repositories[1]: repository 'R' is declared twice"),
        (TOKENS + "organizations: [{name: a}, {name: A}]\n", "organization 'A' is declared twice"),
        (TOKENS + "organizations: [{name: 'a b'}]\n", "organizations[0].name: an organization"),
        (PROJECT % "{name: p, visibility: secret}",
         "projects[0].visibility: expected 'private' or 'public'"),
        (REPOS % "{name: r, commits: [{message: m, author: nobody}]}",
         "commits[0].author: expected 'Name <email>'"),
        (TOKEN % "{name: t}", "tokens[0]: give exactly one of 'value' and 'value_env'"),
        (TOKEN % "{name: t, value: abcdefgh12, scopes: [code.rd]}",
         "tokens[0].scopes[0]: unknown scope 'code.rd'"),
        (TOKEN % "{name: t, value: abcdefgh12, organizations: [ghost]}",
         "tokens[0].organizations[0]: no organization named 'ghost'"),
        (TOKEN % "{name: t, value: abcdefgh12}, {name: t, value: other-value-1}",
         "token name 't' is used twice"),
        ("tokens: []\n", "tokens: declare at least one token"),
        (TOKENS + "generate: {organizations: 1, fork: 2}\n",
         "generate.fork: must be between 0 and 1.0, got 2"),
        (TOKENS + "options: {layout: mainframe}\n", "options.layout: expected 'cloud' or 'onprem'"),
        (TOKENS + "options: {api_ceiling: seven}\n", "options.api_ceiling: expected an api"),
        (FAULTS % "reset_rate: 1.5", "options.faults.reset_rate: must be between 0 and 1.0"),
        (FAULTS % "server_error_statuses: [404]", "server_error_statuses[0]: expected an HTTP"),
        (TOKENS + "organizations:\n  - name: a\n  - name: b\n    name: c\n", "not valid YAML"),
        ("- just\n- a list\n", "<root>: expected a mapping, got a list"),
    ],
)  # fmt: skip
def test_invalid_estates_name_the_key(text: str, message: str) -> None:
    with pytest.raises(EmulatorError) as caught:
        parse_estate(text, source="estate.yaml")
    assert str(caught.value).startswith("estate.yaml")
    assert message in str(caught.value)


def test_token_value_from_the_environment_is_never_shown() -> None:
    text = "tokens: [{name: env, value_env: EMULATOR_TEST_PAT}]\n"
    loaded = parse_estate(text, environ={"EMULATOR_TEST_PAT": "secret-from-env-42"})
    token = loaded.estate.token("secret-from-env-42")
    assert token is not None and token.name == "env" and token.scopes == SCOPES
    assert "secret-from-env-42" not in repr(token)
    assert redact("value secret-from-env-42 leaked") == "value *** leaked"
    with pytest.raises(EmulatorError, match=r"tokens\[0\]\.value_env: the environment variable"):
        parse_estate(text, environ={})


def test_options_section_and_generated_organizations() -> None:
    text = TOKENS + (
        "organizations: [{name: contoso}]\n"
        "generate: {seed: 1, organizations: 9, projects_per_organization: 2,"
        " repositories_per_project: 3}\n"
        "options:\n"
        "  layout: onprem\n"
        "  virtual_directory: ''\n"
        "  api_ceiling: 7.0\n"
        "  faults: {seed: 7, latency_ms: 25, routes: [git.items]}\n"
        "  rate_limit: {budget: 50, window_seconds: 10}\n"
    )
    loaded = parse_estate(text)
    names = [org.name for org in loaded.estate.organizations]
    assert names[0] == "contoso" and len(names) == 10
    assert len({name.lower() for name in names}) == 10  # generated names avoid declared ones
    assert sum(1 for _ in loaded.estate.repositories()) == 9 * 2 * 3
    options = loaded.options
    assert isinstance(options, EmulatorOptions)
    assert (
        options.layout == "onprem" and options.virtual_directory == "" and options.ceiling == "7.0"
    )
    assert options.faults.latency_ms == 25 and options.faults.routes == ("git.items",)
    assert options.rate_limit is not None and options.rate_limit.budget == 50


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="cannot read the estate file"):
        load_estate(tmp_path / "missing.yaml")


def test_sample_estate_covers_every_case() -> None:
    estate = load_estate(sample_estate_path()).estate
    assert [org.name for org in estate.organizations] == ["contoso", "fabrikam"]
    repositories = list(estate.repositories())
    assert 24 <= len(repositories) <= 48
    assert sum(len(org.projects) for org in estate.organizations) >= 4
    flags: Counter[str] = Counter()
    for repo in repositories:
        flags["empty"] += repo.is_empty
        flags["disabled"] += repo.is_disabled
        flags["fork"] += repo.is_fork
        flags["space"] += " " in repo.name
        if not repo.is_empty:
            tip = repo.history.branch_tip(repo.default_branch or "")
            assert tip is not None
            text = tip.tree.get("/catalog-info.yaml", b"").decode()
            flags["missing"] += not text
            flags["multi"] += text.count("\nkind: ") >= 2
    assert all(
        flags[key] >= 2 for key in ("empty", "disabled", "fork", "space", "missing", "multi")
    ), flags
    revoked = [t for t in estate.tokens.values() if t.revoked]
    assert revoked and any(
        t.organizations is None and not t.revoked for t in estate.tokens.values()
    )
