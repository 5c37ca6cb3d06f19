"""Estate files: YAML that declares organizations, tokens, emulator options and generated parts.

Layout (every key but ``tokens`` optional; see ``sample_estate.yaml`` for a full example)::

    tokens:                        # who may call, and what they may do
      - name: reader               # shown in stats and errors instead of the value
        value: some-long-token     # or value_env: NAME_OF_AN_ENVIRONMENT_VARIABLE
        user: {name: Ada Lovelace, email: ada@contoso.example}
        organizations: all         # or a list of organization names
        scopes: all                # or a list of: code.read, code.write, project.read,
                                   #   memberentitlement.read, analytics.read, graph.read
        revoked: false
    organizations:
      - name: contoso
        users: [{name: Grace Hopper, email: grace@contoso.example, license: Basic}]
        projects:
          - name: Payments Platform
            description: Money in, money out.
            visibility: private
            repositories:
              - name: payments-api
                default_branch: main
                branches: [develop]
                disabled: false
                fork: false
                empty: false
                protected_branches: [main]
                size: 120000
                languages: {Python: 80000, YAML: 1200}
                files:
                  catalog-info.yaml: |
                    apiVersion: backstage.io/v1alpha1
                    ...
                commits:           # oldest first; the tip holds `files`
                  - message: Initial commit
                    author: Ada Lovelace <ada@contoso.example>   # or {name: ..., email: ...}
                    date: 2025-06-01T09:00:00Z                   # or days_ago: 30
            teams:                 # the default team "{project} Team" always exists
              - name: Payments Platform Team          # (declared here: its members)
                members: [Ada Lovelace <ada@contoso.example>]
                admins: [Grace Hopper <grace@contoso.example>]
    generate: {seed: 7, organizations: 5, projects_per_organization: 100,
               repositories_per_project: 20}
    options: {layout: cloud, faults: {latency_ms: 25}, rate_limit: {budget: 200}}
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bridge.emulator.estate import (
    SCOPES,
    Estate,
    LanguageShare,
    Member,
    Organization,
    Project,
    Repository,
    Team,
    Token,
    team_id,
)
from bridge.emulator.generator import FRACTIONS, SIZES, GenerationSpec, generate_organizations
from bridge.emulator.history import linear_history
from bridge.emulator.identity import Identity, Signature
from bridge.emulator.options import EmulatorOptions, options_from_node
from bridge.emulator.validation import Node, Table
from bridge.errors import EmulatorError
from bridge.secrets import register

SAMPLE_ESTATE = "sample_estate.yaml"
_NAME_EMAIL = re.compile(r"(.+?)\s*<([^<>\s]+@[^<>\s]+)>")
# Fixed namespace: declared names map to the same GUIDs on every load.
_ID_NAMESPACE = uuid.UUID("8d3c2f6e-2b4a-4f71-9d0e-5a6c1b7e9f20")
_DEFAULT_AUTHOR = ("Emulator", "emulator@emulator.example")
_EXTENSIONS = {
    ".py": "Python", ".cs": "C#", ".java": "Java", ".ts": "TypeScript", ".tsx": "TypeScript",
    ".js": "JavaScript", ".go": "Go", ".rs": "Rust", ".kt": "Kotlin", ".rb": "Ruby",
    ".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".md": "Markdown", ".sh": "Shell",
    ".tf": "HCL", ".sql": "SQL", ".html": "HTML", ".css": "CSS",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class EstateFile:
    """A loaded estate file: the estate and the emulator options it asks for."""

    estate: Estate
    options: EmulatorOptions


def sample_estate_path() -> Path:
    """The sample estate shipped with the package (two organizations, every repository kind)."""
    return Path(str(resources.files("bridge.emulator").joinpath(SAMPLE_ESTATE)))


def load_estate(path: str | Path, *, environ: Mapping[str, str] | None = None) -> EstateFile:
    """Read and validate an estate file; ``value_env`` tokens are read from ``environ``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EmulatorError(f"cannot read the estate file {file}: {error}") from None
    return parse_estate(text, source=str(file), environ=environ)


def parse_estate(
    text: str, *, source: str = "<estate>", environ: Mapping[str, str] | None = None
) -> EstateFile:
    """Validate estate YAML text (errors name ``source`` and the key path)."""
    try:
        document = YAML(typ="safe").load(text)
    except YAMLError as error:
        raise EmulatorError(f"{source}: not valid YAML: {error}") from None
    root = Node(document, "", source).mapping(
        {"tokens", "organizations", "generate", "options"}, ["tokens"]
    )
    # Midnight, so that relative and default dates (and so commit ids) hold for a whole day.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    organizations = [_organization(node, now) for node in root.sequence_at("organizations")]
    generate_node = root.node("generate")
    if generate_node is not None:
        declared = [organization.name for organization in organizations]
        organizations += generate_organizations(_generation_spec(generate_node), taken=declared)
    seen: dict[str, str] = {}
    for organization in organizations:
        key = organization.name.lower()
        if key in seen:
            raise EmulatorError(f"{source}: organization '{organization.name}' is declared twice")
        seen[key] = organization.name
    tokens = _tokens(root.child("tokens"), seen, environ if environ is not None else os.environ)
    options_node = root.node("options")
    options = options_from_node(options_node) if options_node else EmulatorOptions()
    return EstateFile(Estate(organizations, tokens), options)


def _id(node: Table, *names: str) -> str:
    if "id" in node.value:
        value = node.text_at("id").lower()
        try:
            return str(uuid.UUID(value))
        except ValueError:
            node.child("id").fail(f"expected a GUID, got {value!r}")
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(name.lower() for name in names)))


def _identity(node: Node) -> Identity:
    """``{name, email}``, or ``"Name <email>"`` as Git writes it."""
    if isinstance(node.value, str):
        found = _NAME_EMAIL.fullmatch(node.value.strip())
        if found is None:
            node.fail(
                f"expected 'Name <email>' or a mapping with name and email, got {node.value!r}"
            )
        return Identity.of(found.group(1), found.group(2))
    table = node.mapping({"name", "email"}, ["name", "email"])
    return Identity.of(table.text_at("name"), table.text_at("email"))


def _organization(node: Node, now: datetime) -> Organization:
    table = node.mapping({"name", "id", "users", "projects"}, ["name"])
    name = table.text_at("name")
    if not name.replace("-", "").replace("_", "").isalnum():
        table.child("name").fail("an organization name holds only letters, digits, '-' and '_'")
    organization = Organization(_id(table, name), name)
    for user in table.sequence_at("users"):
        fields = user.mapping({"name", "email", "license", "last_accessed"}, ["name", "email"])
        identity = Identity.of(fields.text_at("name"), fields.text_at("email"))
        last = fields.moment("last_accessed", now)
        organization.members.append(Member(identity, fields.text_at("license", "Basic"), last))
    for project_node in table.sequence_at("projects"):
        project = _project(project_node, organization, now)
        if organization.project(project.name) is not None:
            project_node.fail(f"project '{project.name}' is declared twice")
        organization.add_project(project)
    known = {member.identity.email.lower() for member in organization.members}
    for repository in organization.repositories():
        for push in repository.history.pushes:
            if push.pushed_by.email.lower() not in known:
                known.add(push.pushed_by.email.lower())
                organization.members.append(Member(push.pushed_by, "Basic", push.date))
    return organization


def _project(node: Node, organization: Organization, now: datetime) -> Project:
    table = node.mapping(
        {"name", "id", "description", "visibility", "repositories", "teams"}, ["name"]
    )
    name = table.text_at("name")
    visibility = table.text_at("visibility", "private")
    if visibility not in ("private", "public"):
        table.child("visibility").fail(f"expected 'private' or 'public', got {visibility!r}")
    project = Project(
        _id(table, organization.name, name),
        name,
        organization,
        description=table.text_at("description", ""),
        visibility=visibility,
        last_update_time=now,
    )
    for repo_node in table.sequence_at("repositories"):
        repository = _repository(repo_node, project, now)
        if project.repository(repository.name) is not None:
            repo_node.fail(f"repository '{repository.name}' is declared twice in project '{name}'")
        project.add_repository(repository)
    for team_node in table.sequence_at("teams"):
        team = _team(team_node, project)
        if any(other.name.lower() == team.name.lower() for other in project.teams):
            team_node.fail(f"team '{team.name}' is declared twice in project '{name}'")
        project.teams.append(team)
    return project


def _team(node: Node, project: Project) -> Team:
    """A team; naming it ``{project} Team`` declares the default team's members."""
    table = node.mapping({"name", "description", "members", "admins"}, ["name"])
    name = table.text_at("name")
    members = [_identity(item) for item in table.sequence_at("members")]
    admins = [_identity(item) for item in table.sequence_at("admins")]
    # Administrators are members too (as in Azure DevOps); listed once, admins first.
    everyone = {identity.id: identity for identity in (*admins, *members)}
    return Team(
        team_id(project.id, name),
        name,
        table.text_at("description", ""),
        tuple(everyone.values()),
        frozenset(identity.id for identity in admins),
    )


_REPOSITORY_KEYS = {
    "name", "id", "default_branch", "branches", "disabled", "fork", "empty", "protected_branches",
    "size", "languages", "files", "commits",
}  # fmt: skip


def _repository(node: Node, project: Project, now: datetime) -> Repository:
    table = node.mapping(_REPOSITORY_KEYS, ["name"])
    name = table.text_at("name")
    files = _files(table.node("files"))
    empty = table.flag("empty", False)
    commits_node = table.node("commits")
    if empty and (files or commits_node):
        table.fail("an empty repository has no files and no commits")
    branch = table.text_at("default_branch", "main")
    languages_node = table.node("languages")
    languages = _languages(languages_node) if languages_node else _languages_of(files)
    repository = Repository(
        _id(table, project.organization.name, project.name, name),
        name,
        project,
        None if empty else branch,
        table.integer("size", 0 if empty else sum(len(content) for content in files.values())),
        is_disabled=table.flag("disabled", False),
        is_fork=table.flag("fork", False),
        languages=() if empty else languages,
        protected_branches=frozenset(table.texts("protected_branches")),
    )
    if not empty:
        authored = (
            _commits(commits_node, now)
            if commits_node
            else [(Signature(*_DEFAULT_AUTHOR, now - timedelta(days=1)), "Initial commit")]
        )
        extra = tuple(b for b in table.texts("branches") if b != branch)
        repository.stored_history = linear_history(
            files, authored, branch=branch, extra_branches=extra
        )
    return repository


def _files(node: Node | None) -> dict[str, bytes]:
    if node is None:
        return {}
    if not isinstance(node.value, dict):
        node.fail("expected a mapping of file path to content")
    files = {}
    for path, content in node.value.items():
        if not isinstance(path, str) or not path.strip("/"):
            node.fail(f"file paths must be non-empty strings, got {path!r}")
        if not isinstance(content, str):
            node.child(path).fail("file content must be a string")
        files["/" + path.strip("/")] = content.encode()
    return files


def _commits(node: Node, now: datetime) -> list[tuple[Signature, str]]:
    authored = []
    items = node.sequence()
    if not items:
        node.fail("list at least one commit (or leave the key out)")
    for index, item in enumerate(items):
        table = item.mapping({"message", "author", "date", "days_ago"}, ["message", "author"])
        identity = _identity(table.child("author"))
        if "date" in table.value and "days_ago" in table.value:
            table.fail("give 'date' or 'days_ago', not both")
        default = now - timedelta(days=table.integer("days_ago", len(items) - index))
        date = table.moment("date", default)
        authored.append(
            (Signature(identity.display_name, identity.email, date), table.text_at("message"))
        )
    return authored


def _languages(node: Node) -> tuple[LanguageShare, ...]:
    if not isinstance(node.value, dict):
        node.fail("expected a mapping of language name to bytes")
    shares = []
    for language, size in node.value.items():
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            node.child(language).fail(f"expected a number of bytes, got {size!r}")
        shares.append(LanguageShare(str(language), max(1, size // 4000), size))
    return tuple(shares)


def _languages_of(files: Mapping[str, bytes]) -> tuple[LanguageShare, ...]:
    totals: dict[str, tuple[int, int]] = {}
    for path, content in files.items():
        language = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
        if language:
            count, size = totals.get(language, (0, 0))
            totals[language] = (count + 1, size + len(content))
    return tuple(LanguageShare(name, count, size) for name, (count, size) in totals.items())


def _generation_spec(node: Node) -> GenerationSpec:
    defaults = GenerationSpec()
    counts = ("seed", *SIZES)
    table = node.mapping({*FRACTIONS, *counts, "members_per_organization"})
    values: dict[str, Any] = {
        name: table.number(name, getattr(defaults, name), maximum=1.0) for name in FRACTIONS
    }
    values.update({name: table.integer(name, getattr(defaults, name)) for name in counts})
    values["members_per_organization"] = table.integer(
        "members_per_organization", defaults.members_per_organization, minimum=1
    )
    spec = GenerationSpec(**values)
    try:
        spec.check()
    except EmulatorError as error:
        node.fail(str(error))
    return spec


def _tokens(
    node: Node, organizations: Mapping[str, str], environ: Mapping[str, str]
) -> list[Token]:
    tokens: list[Token] = []
    items = node.sequence()
    if not items:
        node.fail("declare at least one token")
    for item in items:
        table = item.mapping(
            {"name", "value", "value_env", "user", "organizations", "scopes", "revoked"}, ["name"]
        )
        name = table.text_at("name")
        value = _token_value(table, environ)
        if any(token.name == name for token in tokens):
            table.child("name").fail(f"token name '{name}' is used twice")
        if any(token.value == value for token in tokens):
            table.fail("two tokens have the same value")
        user = table.node("user")
        identity = (
            _identity(user)
            if user
            else Identity.of(f"Emulator User ({name})", f"{name}@emulator.example")
        )
        tokens.append(
            Token(
                name,
                value,
                identity,
                _scopes(table),
                _visible(table, organizations),
                table.flag("revoked", False),
                table.text_at("value_env", "") or None,
            )
        )
    return tokens


def _token_value(table: Table, environ: Mapping[str, str]) -> str:
    if ("value" in table.value) == ("value_env" in table.value):
        table.fail("give exactly one of 'value' and 'value_env'")
    if "value" in table.value:
        value = table.text_at("value")
    else:
        variable = table.text_at("value_env")
        value = environ.get(variable, "")
        if not value:
            table.child("value_env").fail(
                f"the environment variable {variable} is not set or empty"
            )
    if any(ch.isspace() for ch in value) or ":" in value:
        table.fail("a token value holds no spaces and no ':'")
    register(value)  # keep it out of every message from now on
    return value


def _scopes(table: Table) -> frozenset[str]:
    node = table.node("scopes")
    if node is None or node.value == "all":
        return SCOPES
    scopes = set()
    for item in node.sequence():
        scope = item.text().lower()
        if scope not in SCOPES:
            item.fail(f"unknown scope {scope!r} (known: all, {', '.join(sorted(SCOPES))})")
        scopes.add(scope)
    return frozenset(scopes)


def _visible(table: Table, organizations: Mapping[str, str]) -> frozenset[str] | None:
    node = table.node("organizations")
    if node is None or node.value == "all":
        return None
    visible = set()
    for item in node.sequence():
        name = item.text()
        if name.lower() not in organizations:
            item.fail(f"no organization named {name!r} in this estate")
        visible.add(name.lower())
    return frozenset(visible)
