"""The configuration file: integration profiles, how it is found, loaded and validated.

A file holds one or more profiles (an Azure DevOps instance, its organizations, where its
token comes from, an optional Snyk Broker and the Backstage attributes to read). Loading
collects every problem of the file and raises them together in one
:class:`InvalidConfigError`, each with its key path (``profiles[0].organizations``) and line,
so a user fixes everything in one go.

Tokens never live in the file: a profile names an environment variable (``token_env``) or a
file (``token_file``), and both are read here, at load time, into :class:`Secret` values, so
the rest of the tool never looks at the environment for them. Only the profiles selected
with ``--profile`` are resolved: an unrelated profile whose variable is unset does not fail.

:func:`starter_config` / :func:`write_starter` produce the commented file that
``catalog-bridge init`` writes.
"""

from __future__ import annotations

import difflib
import os
import re
import ssl
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from bridge.azure import (
    CLOUD_API_URL,
    AzureDevOpsClient,
    BrokerSettings,
    RequestStats,
    RetryPolicy,
    resolve_endpoints,
)
from bridge.azure.endpoints import require_secure
from bridge.catalog.processing.rules import DEFAULT_RULES, KindRule
from bridge.catalog.yamlload import YamlDocument, parse_documents
from bridge.errors import ConfigError, UsageError
from bridge.fieldpath import FieldPath, FieldPathError, quote_segment
from bridge.secrets import Secret, register

CONFIG_ENV = "CATALOG_BRIDGE_CONFIG"
DEFAULT_CONFIG_FILE = "catalog-bridge.yaml"
PIPELINE_TOKEN_ENV = "SYSTEM_ACCESSTOKEN"  # the job token of Azure Pipelines

ATTRIBUTES = ("catalog_name", "title", "category", "lifecycle", "owner", "application")
"""The six Backstage attributes of Snyk Essentials' application context, in display order."""

DEFAULT_FIELDS: Mapping[str, FieldPath] = MappingProxyType(
    {
        "catalog_name": FieldPath(("metadata", "name")),
        "title": FieldPath(("metadata", "title")),
        "category": FieldPath(("spec", "type")),
        "lifecycle": FieldPath(("spec", "lifecycle")),
        "owner": FieldPath(("spec", "owner")),
        "application": FieldPath(("spec", "system")),
    }
)
"""The entity field each attribute is read from unless the profile overrides it."""

DEFAULT_CATALOG_FILENAME = "catalog-info.yaml"
DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 64
MAX_DEVELOPERS_DAYS = 3650

_MAX_FILE_BYTES = 1 << 20
_MAX_TOKEN_FILE_BYTES = 64 << 10

_TOP_KEYS = ("profiles", "state")
_PROFILE_KEYS = (
    "name",
    "organizations",
    "api_url",
    "token_env",
    "token_file",
    "broker",
    "backstage",
    "concurrency",
    "allow_http",
    "ca_file",
    "developers_days",
    "propose",
    "generate",
)
_BROKER_KEYS = ("url", "token_env", "token_file")
_BACKSTAGE_KEYS = ("filename", "attributes", "fields", "catalog")
# -- state (issue 10): the nightly job's embedded database --------------------------------
_STATE_KEYS = ("path", "full_refresh_days")
DEFAULT_FULL_REFRESH_DAYS = 7
# The top-level keys of a valid Backstage entity: a field path starting elsewhere finds nothing.
_ENTITY_ROOTS = ("apiVersion", "kind", "metadata", "spec", "relations", "status")
# Snyk's names for the same attributes (its `context` keys and the Backstage fields).
_ATTRIBUTE_ALIASES = {"name": "catalog_name", "type": "category", "system": "application"}

_SECRET_KEYS = frozenset(
    {"token", "pat", "password", "passwd", "secret", "credentials", "api_key", "apikey", "auth"}
)
_SECRET_SUFFIXES = ("_token", "_pat", "_password", "_secret", "_key")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_KNOWN_TOKEN_FORMATS = (
    re.compile(r"[a-z2-7]{52}"),  # Azure DevOps PAT, classic format
    re.compile(r"[A-Za-z0-9]{84}"),  # Azure DevOps PAT, 2024 format
    re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"),  # Snyk Broker token
)
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9+=-]{32,}")

_PAT_EXAMPLE = "AZURE_DEVOPS_EXT_PAT"
_BROKER_TOKEN_EXAMPLE = "SNYK_BROKER_TOKEN"

KeyPath = tuple[str | int, ...]


# -- propose: pull requests that add or fix catalog files -----------------------------------

DEFAULT_PROPOSE_BRANCH = "catalog-bridge/catalog-info"
_PROPOSE_KEYS = ("enabled", "branch", "reviewers", "labels", "draft")
# What git refuses in a branch name (git check-ref-format), which Azure DevOps refuses too.
_BAD_BRANCH = re.compile(r"(^[/.]|[/.]$|\.\.|//|@\{|[\x00-\x20~^:?*\[\\\x7f]|\.lock(/|$))")


@dataclass(frozen=True, slots=True)
class ProposeSettings:
    """A profile's ``propose`` block: pull requests that add or fix its catalog files.

    ``reviewers`` are Azure DevOps identity ids; ``labels`` are pull request tags. An enabled
    block makes ``doctor`` check that the token may push (Code: Read & write).
    """

    enabled: bool = False
    branch: str = DEFAULT_PROPOSE_BRANCH
    reviewers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    draft: bool = False


@dataclass(frozen=True, slots=True)
class BackstageSettings:
    """The "Add Backstage Catalog" option of a profile.

    ``fields`` maps every selected attribute to the entity field it is read from (the
    default, or the profile's override), so users of it need not know the defaults.
    """

    filename: str = DEFAULT_CATALOG_FILENAME
    attributes: tuple[str, ...] = ATTRIBUTES
    fields: Mapping[str, FieldPath] = field(default_factory=lambda: DEFAULT_FIELDS)
    catalog: CatalogSettings | None = None


# --- backstage.catalog: a monorepo of catalogs merged into sync (issue 8) -------------------

PRECEDENCES = ("catalog", "repository")
"""``backstage.catalog.precedence``: which context entry the summary counts when a repository
has both: the catalog repository's (what the Backstage instance registers) or the
repository's own file."""
DEFAULT_PRECEDENCE = "catalog"
_CATALOG_KEYS = ("repository", "ref", "root", "rules", "precedence")


@dataclass(frozen=True, slots=True)
class CatalogSettings:
    """A profile's ``backstage.catalog``: a catalog repository (a monorepo of catalogs)
    whose Components add application context to the repositories they describe.

    ``repository`` is an Azure Repos URL or an absolute local path; ``ref`` None reads the
    remote's default branch (a local repository's ``HEAD``); ``rules`` is ``catalog.rules``
    (the kinds a location may bring in, Backstage's default unless set).
    """

    repository: str
    ref: str | None = None
    root: str = DEFAULT_CATALOG_FILENAME
    rules: tuple[KindRule, ...] = DEFAULT_RULES
    precedence: str = DEFAULT_PRECEDENCE


# --- end of backstage.catalog ---------------------------------------------------------------


# --- generate: catalog files from templates (issue 9) ----------------------------------------

FRESHNESS_VALUES = ("active", "inactive", "dormant", "n/a")
DEFAULT_LIFECYCLE: Mapping[str, str] = MappingProxyType(
    {
        "active": "production",
        "inactive": "production",
        "dormant": "deprecated",
        "n/a": "experimental",
    }
)
"""Lifecycle by freshness unless the profile's ``generate.lifecycle`` says otherwise."""
DEFAULT_TEMPLATE = "service"
_GENERATE_KEYS = (
    "templates",
    "default_template",
    "rules",
    "owners",
    "systems",
    "fallback_owner",
    "lifecycle",
    "type_rules",
)
_RULE_KEYS = ("template", "project", "name", "language")
_TYPE_RULE_KEYS = ("type", "project", "name", "languages")


@dataclass(frozen=True, slots=True)
class TemplateRule:
    """Use ``template`` for repositories matching every condition given: ``project`` (a
    project name), ``name`` (a glob on the repository name), ``language`` (the repository's
    main language); all case-insensitive."""

    template: str
    project: str | None = None
    name: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class TypeRule:
    """``spec.type`` for repositories matching every condition given: ``project``,
    ``name`` (a glob on the repository name) and ``languages`` (the main language is one)."""

    type: str
    project: str | None = None
    name: str | None = None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenerateSettings:
    """A profile's ``generate`` section: how catalog files are generated.

    ``templates`` is None for the bundled templates. ``owners`` and ``systems`` map project
    names (compared case-insensitively) to an owner reference and a system name.
    """

    templates: Path | None = None
    default_template: str = DEFAULT_TEMPLATE
    rules: tuple[TemplateRule, ...] = ()
    owners: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    systems: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    fallback_owner: str | None = None
    lifecycle: Mapping[str, str] = field(default_factory=lambda: DEFAULT_LIFECYCLE)
    type_rules: tuple[TypeRule, ...] = ()


# --- end of generate ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """One integration profile, with its tokens already resolved.

    ``organizations`` is ``("*",)`` for every organization the token can see. ``token`` is
    None only through a broker (the broker client holds the Azure DevOps token).
    ``ca_file`` is an absolute path.
    """

    name: str
    organizations: tuple[str, ...]
    api_url: str = CLOUD_API_URL
    token: Secret | None = None
    broker: BrokerSettings | None = None
    backstage: BackstageSettings | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    allow_http: bool = False
    ca_file: Path | None = None
    developers_days: int = 0
    propose: ProposeSettings = field(default_factory=ProposeSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)

    @property
    def all_organizations(self) -> bool:
        """True when the profile reads every organization its token can see."""
        return self.organizations == ("*",)

    def tls_verify(self) -> ssl.SSLContext | bool:
        """What the HTTP client verifies servers with (``verify=`` of the Azure client).

        ``ca_file`` is trusted in addition to the system's certificate authorities, so one
        profile can reach both a private server and a public broker.
        """
        if self.ca_file is None:
            return True
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=self.ca_file)
        return context

    def client(
        self,
        organization: str | None,
        *,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        stats: RequestStats | None = None,
    ) -> AzureDevOpsClient:
        """An Azure DevOps client for ``organization`` (None: to list organizations)."""
        return AzureDevOpsClient(
            organization,
            token=self.token,
            api_url=self.api_url,
            broker=self.broker,
            allow_http=self.allow_http,
            concurrency=concurrency or self.concurrency,
            verify=self.tls_verify(),
            retry=retry,
            timeout=timeout,
            stats=stats,
        )


@dataclass(frozen=True, slots=True)
class StateSettings:
    """The ``state:`` block: the state database of nightly runs (``sync --state`` wins).

    ``path`` is absolute (a relative one is taken from the configuration file's folder);
    ``full_refresh_days``: an incremental run reads everything again when the last full
    run is older than that.
    """

    path: Path | None = None
    full_refresh_days: int = DEFAULT_FULL_REFRESH_DAYS


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded configuration: the selected profiles, the file, and notes for the user.

    ``notes`` are remarks that are not errors (a fallback token used, a setting ignored);
    the caller decides how to show them.
    """

    profiles: tuple[Profile, ...]
    source: Path
    notes: tuple[str, ...] = ()
    state: StateSettings = StateSettings()

    def organization_filter(self, names: Iterable[str]) -> frozenset[str]:
        """``--org`` names, lower-cased (Azure DevOps organization names are case-insensitive).

        A name that no selected profile lists is a :class:`UsageError`, unless a profile reads
        every organization (``["*"]``): its token may well see it.
        """
        wanted = frozenset(name.lower() for name in names)
        if any(profile.all_organizations for profile in self.profiles):
            return wanted
        listed = {name.lower() for profile in self.profiles for name in profile.organizations}
        unknown = sorted(wanted - listed)
        if unknown:
            what = "this organization" if len(unknown) == 1 else "these organizations"
            raise UsageError(
                f"--org {', '.join(map(repr, unknown))}: no selected profile lists {what} "
                f"(organizations configured: {', '.join(sorted(listed)) or 'none'})"
            )
        return wanted


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem of a configuration file: key path, what is wrong, line (1-based)."""

    key: str
    message: str
    line: int | None

    def __str__(self) -> str:
        parts = [f"line {self.line}"] if self.line else []
        parts += [self.key] if self.key else []
        return ": ".join([*parts, self.message])


class InvalidConfigError(ConfigError):
    """Every problem found in a configuration file, reported together."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            text = f"{source}, {self.problems[0]}"
        else:
            lines = "".join(f"\n  {problem}" for problem in self.problems)
            text = f"{source}: {len(self.problems)} problems:{lines}"
        super().__init__(text)
        self.source = source
        self.key = self.problems[0].key if len(self.problems) == 1 else None


def config_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """The file to read: ``--config``, else ``$CATALOG_BRIDGE_CONFIG``, else the default."""
    if explicit is not None:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return Path(DEFAULT_CONFIG_FILE)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    profiles: Sequence[str] | None = None,
) -> Config:
    """Read, validate and resolve a configuration file.

    ``path`` None means :func:`config_path` decides. ``environ`` defaults to the process
    environment. ``profiles`` selects profiles by name (all when None or empty); only the
    selected ones are returned and only their tokens and files are read. Raises
    :class:`InvalidConfigError` listing every problem, :class:`ConfigError` when the file
    cannot be read, and :class:`UsageError` for a selected name the file does not define.
    """
    env = os.environ if environ is None else environ
    file = config_path(path, env)
    text = _read_config_text(file)
    return _Loader(text, str(file), file.absolute().parent, env).load(profiles)


def _read_config_text(file: Path) -> str:
    source = str(file)
    try:
        with file.open("rb") as stream:
            data = stream.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            "configuration file not found; write a commented starter file with "
            "`catalog-bridge init`, or name an existing file with --config or "
            f"{CONFIG_ENV}",
            source=source,
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a configuration file", source=source) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", source=source) from None
    if len(data) > _MAX_FILE_BYTES:
        raise ConfigError(f"larger than {_MAX_FILE_BYTES} bytes", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text (byte {error.start})", source=source) from None


@dataclass(frozen=True, slots=True)
class _TokenRef:
    """Where a token comes from: an environment variable or a file, and the key naming it."""

    kind: str  # "token_env" or "token_file"
    value: str
    key: KeyPath


@dataclass(slots=True)
class _Draft:
    """A profile whose environment (tokens, files) is not read yet.

    ``complete`` is False when the profile has problems of its own: its environment is still
    checked, so that a missing variable or CA file is reported with the other problems
    rather than after they are fixed, but no :class:`Profile` is made from it.
    """

    index: int
    name: str | None
    organizations: tuple[str, ...] | None
    api_url: str
    token: _TokenRef | None
    broker_url: str | None
    broker_token: _TokenRef | None
    backstage: BackstageSettings | None
    concurrency: int
    allow_http: bool
    ca_file: str | None
    developers_days: int
    propose: ProposeSettings = field(default_factory=ProposeSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    complete: bool = True


@dataclass(slots=True)
class _Problem:
    path: KeyPath
    message: str
    at_key: bool  # report the line of the key (unknown keys) rather than of its value


@dataclass(slots=True)
class _Loader:
    text: str
    source: str
    base_dir: Path
    environ: Mapping[str, str]
    problems: list[_Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: YamlDocument | None = None  # the parsed file, for line numbers
    state: StateSettings = field(default_factory=StateSettings)

    def load(self, selection: Sequence[str] | None) -> Config:
        drafts, names = self._structure()
        unknown = [name for name in selection or () if name not in names]
        if unknown and not self.problems:
            known = ", ".join(names) or "none"
            raise UsageError(
                f"unknown profile {', '.join(map(repr, unknown))}; {self.source} defines: {known}"
            )
        chosen = [d for d in drafts if not selection or d.name in selection]
        resolved = [self._resolve(draft) for draft in chosen]
        if self.problems:
            raise InvalidConfigError(self.source, self._located())
        return Config(
            profiles=tuple(p for p in resolved if p is not None),
            source=Path(self.source),
            notes=tuple(self.notes),
            state=self.state,
        )

    # -- reporting ----------------------------------------------------------------------

    def add(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(_Problem(path, message, at_key))

    def _located(self) -> list[ConfigProblem]:
        located = [
            ConfigProblem(_render(problem.path), problem.message, _line(self.document, problem))
            for problem in self.problems
        ]
        # Stable: problems on one line keep the order they were found in.
        return sorted(located, key=lambda p: p.line or 0)

    # -- structure ----------------------------------------------------------------------

    def _structure(self) -> tuple[list[_Draft], list[str]]:
        documents = parse_documents(self.text)
        if len(documents) > 1:
            message = "a second YAML document; keep every profile in the first one"
            raise InvalidConfigError(self.source, [ConfigProblem("", message, documents[1].line)])
        if not documents or documents[0].empty:
            raise ConfigError(
                "the file is empty; `catalog-bridge init` writes a commented starter file",
                source=self.source,
            )
        problem = documents[0].problem
        if problem is not None:
            message = f"not valid YAML: {problem.message}"
            raise InvalidConfigError(self.source, [ConfigProblem("", message, problem.line)])
        self.document = documents[0]
        root = self.mapping(documents[0].value, (), _TOP_KEYS)
        if root is None:
            return [], []
        if root.get("state") is not None:
            self.state = self._state(root["state"])
        if "profiles" not in root:
            if not root:  # otherwise the unknown keys were reported, with a suggestion
                self.add((), "needs profiles: a list of integration profiles")
            return [], []
        raw_profiles = root["profiles"]
        if raw_profiles is None or raw_profiles == []:
            self.add(("profiles",), "needs at least one profile")
            return [], []
        if not isinstance(raw_profiles, list):
            self.add(("profiles",), f"must be a list of profiles, not {_kind(raw_profiles)}")
            return [], []
        drafts: list[_Draft] = []
        names: list[str] = []
        first_index: dict[str, int] = {}
        for index, raw in enumerate(raw_profiles):
            before = len(self.problems)
            name, draft = self._profile(raw, index)
            if name is not None:
                if name in first_index:
                    self.add(
                        ("profiles", index, "name"),
                        f"duplicate profile name {name!r} (also profiles[{first_index[name]}])",
                    )
                else:
                    first_index[name] = index
                    names.append(name)
            if draft is not None:
                draft.complete = len(self.problems) == before
                drafts.append(draft)
        return drafts, names

    def _state(self, raw: Any) -> StateSettings:
        """The ``state:`` block (issue 10)."""
        path: KeyPath = ("state",)
        block = self.mapping(raw, path, _STATE_KEYS)
        if block is None:
            return StateSettings()
        file = self.string(block, path, "path")
        days = self.integer(
            block, path, "full_refresh_days", DEFAULT_FULL_REFRESH_DAYS, low=1, high=3650
        )
        return StateSettings(self.base_dir / file if file else None, days)

    def _profile(self, raw: Any, index: int) -> tuple[str | None, _Draft | None]:
        path: KeyPath = ("profiles", index)
        profile = self.mapping(raw, path, _PROFILE_KEYS, token_example=_PAT_EXAMPLE)
        if profile is None:
            return None, None
        name = self.string(profile, path, "name", required=True)
        if name is not None and not name.strip():
            self.add((*path, "name"), "must not be blank")
            name = None
        allow_http = self.value(profile, path, "allow_http", bool, False)
        organizations = self._organizations(profile, path)
        api_url = self.string(profile, path, "api_url") or CLOUD_API_URL
        self._check_api_url(api_url, organizations, allow_http, path)
        broker_url, broker_token = self._broker(profile.get("broker"), path, allow_http)
        # With a broker (even a broken one, reported already) no PAT is needed.
        needs_pat = profile.get("broker") is None
        token = self.token_ref(profile, path, required=needs_pat, example=_PAT_EXAMPLE)
        if broker_url is not None and token is not None:
            self.notes.append(
                f"{_render(token.key)} is not used: through a Snyk Broker the broker client "
                "holds the Azure DevOps token"
            )
            token = None
        if broker_url is not None and organizations:
            self._check_broker_organizations(organizations, path)
        backstage = None
        if profile.get("backstage") is not None:
            backstage = self._backstage(profile["backstage"], (*path, "backstage"), allow_http)
        concurrency = self.integer(
            profile, path, "concurrency", DEFAULT_CONCURRENCY, low=1, high=MAX_CONCURRENCY
        )
        days = self.integer(profile, path, "developers_days", 0, low=0, high=MAX_DEVELOPERS_DAYS)
        ca_file = self.string(profile, path, "ca_file")
        propose = self._propose(profile.get("propose"), (*path, "propose"))
        generate = GenerateSettings()
        if profile.get("generate") is not None:
            generate = self._generate(profile["generate"], (*path, "generate"))
        return name, _Draft(
            index=index,
            name=name,
            organizations=organizations,
            api_url=api_url,
            token=token,
            broker_url=broker_url,
            broker_token=broker_token,
            backstage=backstage,
            concurrency=concurrency,
            allow_http=allow_http,
            ca_file=ca_file,
            developers_days=days,
            propose=propose,
            generate=generate,
        )

    def _organizations(self, profile: Mapping[str, Any], path: KeyPath) -> tuple[str, ...] | None:
        key = (*path, "organizations")
        raw = profile.get("organizations")
        if raw is None or raw == []:
            self.add(
                key if "organizations" in profile else path,
                'needs at least one organization, or ["*"] for every organization',
                at_key="organizations" not in profile,
            )
            return None
        if not isinstance(raw, list):
            hint = " (write [name] for one)" if isinstance(raw, str) else ""
            self.add(key, f"must be a list of organization names, not {_kind(raw)}{hint}")
            return None
        names: list[str] = []
        seen: set[str] = set()
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                self.add((*key, index), f"must be an organization name, not {_kind(item)}")
            elif not item.strip():
                self.add((*key, index), "must not be blank")
            elif "*" in item and item != "*":
                self.add((*key, index), 'patterns are not supported; use "*" alone for all')
            elif item.lower() in seen:
                # Azure DevOps organization names are case-insensitive.
                self.add((*key, index), f"organization {item!r} is listed twice")
            else:
                seen.add(item.lower())
                names.append(item)
        if "*" in names and len(raw) > 1:
            self.add(key, '"*" (every organization) cannot be combined with names')
        if len(names) != len(raw):
            return None
        return tuple(names)

    def _check_api_url(
        self,
        api_url: str,
        organizations: tuple[str, ...] | None,
        allow_http: bool,
        path: KeyPath,
    ) -> None:
        key = (*path, "api_url")
        if not self.check_url(api_url, key, allow_http):
            return
        # resolve_endpoints also catches a legacy {org}.visualstudio.com URL naming another
        # organization, and names the client would refuse.
        for index, organization in enumerate(organizations or ()):
            if organization == "*":
                continue
            try:
                resolve_endpoints(api_url, organization, allow_http=allow_http)
            except ConfigError as error:
                self.add((*path, "organizations", index), str(error))

    def check_url(self, url: str, key: KeyPath, allow_http: bool) -> bool:
        """Record a problem and return False unless ``url`` is a usable http(s) URL."""
        try:
            parsed = httpx.URL(url.strip())
        except httpx.InvalidURL as error:
            self.add(key, f"is not a valid URL: {error}")
            return False
        if parsed.userinfo:
            if parsed.password:
                register(parsed.password)
            self.add(key, "must not carry credentials (user:password@); " + _token_advice())
            return False
        if any(_looks_like_token(part) for part in parsed.path.split("/")):
            self.add(key, "seems to contain a token in its path; " + _token_advice())
            return False
        try:
            require_secure(parsed, allow_http=allow_http, what="the URL")
        except ConfigError as error:
            hint = " (allow_http: true in this profile)" if parsed.scheme == "http" else ""
            self.add(key, f"{error}{hint}")
            return False
        return True

    def _broker(
        self, raw: Any, path: KeyPath, allow_http: bool
    ) -> tuple[str | None, _TokenRef | None]:
        if raw is None:
            return None, None
        key = (*path, "broker")
        broker = self.mapping(raw, key, _BROKER_KEYS, token_example=_BROKER_TOKEN_EXAMPLE)
        if broker is None:
            return None, None
        url = self.string(broker, key, "url", required=True)
        token = self.token_ref(broker, key, required=True, example=_BROKER_TOKEN_EXAMPLE)
        if url is not None and self.check_url(url, (*key, "url"), allow_http):
            return url.strip(), token
        return None, token  # the token is still looked for, to report every problem at once

    def _check_broker_organizations(self, organizations: tuple[str, ...], path: KeyPath) -> None:
        key = (*path, "organizations")
        if organizations == ("*",):
            self.add(
                key,
                'cannot be "*" through a Snyk Broker: a broker client serves one organization '
                "and cannot list them; name it",
            )
        elif len(organizations) > 1:
            self.add(
                key,
                "a Snyk Broker client serves one organization; make one profile per "
                "organization, each with its own broker token",
            )

    def _backstage(self, raw: Any, path: KeyPath, allow_http: bool) -> BackstageSettings | None:
        backstage = self.mapping(raw, path, _BACKSTAGE_KEYS)
        if backstage is None:
            return None
        before = len(self.problems)
        filename = self.string(backstage, path, "filename") or DEFAULT_CATALOG_FILENAME
        if "/" in filename or "\\" in filename or filename in (".", ".."):
            self.add(
                (*path, "filename"),
                "must be a file name: the catalog file is read from the repository root",
            )
        attributes = self._attributes(backstage, path)
        overrides = self._fields(backstage.get("fields"), (*path, "fields"), attributes)
        catalog = None
        if backstage.get("catalog") is not None:
            catalog = self._catalog(backstage["catalog"], (*path, "catalog"), allow_http)
        if len(self.problems) != before:
            return None
        fields = {name: overrides.get(name, DEFAULT_FIELDS[name]) for name in attributes}
        return BackstageSettings(filename, attributes, MappingProxyType(fields), catalog)

    # -- backstage.catalog (issue 8) -------------------------------------------------------

    def _catalog(self, raw: Any, path: KeyPath, allow_http: bool) -> CatalogSettings | None:
        block = self.mapping(raw, path, _CATALOG_KEYS)
        if block is None:
            return None
        repository = self.string(block, path, "repository", required=True)
        if repository is not None:
            if repository.lower().startswith(("https://", "http://")):
                key = (*path, "repository")
                if self.check_url(repository, key, allow_http) and "/_git/" not in repository:
                    self.add(key, "must be an Azure Repos URL (…/{project}/_git/{repository})")
            else:
                # A local path: relative to the configuration file, like ca_file.
                repository = str((self.base_dir / Path(repository).expanduser()).absolute())
        root = self.string(block, path, "root") or DEFAULT_CATALOG_FILENAME
        if root.startswith("/") or ".." in root.replace("\\", "/").split("/"):
            self.add((*path, "root"), "must be a path inside the catalog repository")
        precedence = self.string(block, path, "precedence") or DEFAULT_PRECEDENCE
        if precedence not in PRECEDENCES:
            self.add((*path, "precedence"), _unknown("precedence", precedence, PRECEDENCES))
        rules: tuple[KindRule, ...] = DEFAULT_RULES
        kinds = self._names(block, path, "rules")
        if "rules" in block and not kinds and isinstance(block["rules"], list):
            self.add((*path, "rules"), "name at least one kind (e.g. [Component, API, Location])")
        if kinds:
            rules = tuple(self._kind_rule(kind) for kind in kinds)
        if repository is None:
            return None
        return CatalogSettings(repository, self.string(block, path, "ref"), root, rules, precedence)

    @staticmethod
    def _kind_rule(text: str) -> KindRule:
        """``Kind`` or ``Kind=type`` (the ``spec.type`` too), as ``catalog --rules`` takes."""
        kind, _, spec_type = text.partition("=")
        return KindRule(kind.strip(), spec_type.strip() or None)

    def _propose(self, raw: Any, path: KeyPath) -> ProposeSettings:
        if raw is None:
            return ProposeSettings()
        block = self.mapping(raw, path, _PROPOSE_KEYS)
        if block is None:
            return ProposeSettings()
        branch = self.string(block, path, "branch") or DEFAULT_PROPOSE_BRANCH
        branch = branch.removeprefix("refs/heads/")
        if _BAD_BRANCH.search(branch):
            self.add((*path, "branch"), f"{branch!r} is not a valid git branch name")
        return ProposeSettings(
            enabled=self.value(block, path, "enabled", bool, True),
            branch=branch,
            reviewers=self._names(block, path, "reviewers"),
            labels=self._names(block, path, "labels"),
            draft=self.value(block, path, "draft", bool, False),
        )

    def _names(self, block: Mapping[str, Any], path: KeyPath, key: str) -> tuple[str, ...]:
        raw = block.get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.add((*path, key), f"must be a list of strings, not {_kind(raw)}")
            return ()
        names = []
        for index, item in enumerate(raw):
            if not isinstance(item, str) or not item.strip():
                self.add((*path, key, index), f"must be a non-empty string, not {_kind(item)}")
            else:
                names.append(item.strip())
        return tuple(names)

    def _attributes(self, backstage: Mapping[str, Any], path: KeyPath) -> tuple[str, ...]:
        key = (*path, "attributes")
        raw = backstage.get("attributes", list(ATTRIBUTES))
        if not isinstance(raw, list):
            self.add(key, f"must be a list of attribute names, not {_kind(raw)}")
            return ATTRIBUTES
        if not raw:
            self.add(key, f"select at least one attribute of: {', '.join(ATTRIBUTES)}")
        chosen: set[str] = set()
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                self.add((*key, index), f"must be an attribute name, not {_kind(item)}")
            elif item not in ATTRIBUTES:
                self.add((*key, index), _unknown("attribute", item, ATTRIBUTES))
            elif item in chosen:
                self.add((*key, index), f"attribute {item!r} is listed twice")
            else:
                chosen.add(item)
        return tuple(name for name in ATTRIBUTES if name in chosen)

    def _fields(self, raw: Any, path: KeyPath, attributes: tuple[str, ...]) -> dict[str, FieldPath]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add(path, f"must map attribute names to field paths, not {_kind(raw)}")
            return {}
        overrides: dict[str, FieldPath] = {}
        for name, text in raw.items():
            key = (*path, name)
            if name not in ATTRIBUTES:
                self.add(key, _unknown("attribute", name, ATTRIBUTES), at_key=True)
            elif name not in attributes:
                self.add(key, f"attribute {name!r} is not selected in attributes", at_key=True)
            elif not isinstance(text, str):
                self.add(key, f"must be a field path such as spec.owner, not {_kind(text)}")
            else:
                try:
                    field_path = FieldPath.parse(text)
                except FieldPathError as error:
                    self.add(key, f"invalid field path: {error.message} (character {error.column})")
                    continue
                if field_path.segments[0] not in _ENTITY_ROOTS:
                    # Allowed (Snyk's own example reads "example.com".owner), but probably a
                    # forgotten spec. or metadata. prefix.
                    self.notes.append(
                        f"{_render(key)}: {text} finds nothing in a valid Backstage entity, "
                        f"whose only top-level keys are {', '.join(_ENTITY_ROOTS)}; did you "
                        f"mean spec.{text} or metadata.{text}?"
                    )
                overrides[name] = field_path
        return overrides

    # -- generate (issue 9) ---------------------------------------------------------------

    def _generate(self, raw: Any, path: KeyPath) -> GenerateSettings:
        section = self.mapping(raw, path, _GENERATE_KEYS)
        if section is None:
            return GenerateSettings()
        templates = self.string(section, path, "templates")
        lifecycle = dict(DEFAULT_LIFECYCLE)
        for freshness, value in self._names_map(section, path, "lifecycle").items():
            if freshness not in FRESHNESS_VALUES:
                self.add(
                    (*path, "lifecycle", freshness),
                    _unknown("freshness", freshness, FRESHNESS_VALUES),
                    at_key=True,
                )
            lifecycle[freshness] = value
        return GenerateSettings(
            templates=None if templates is None else (self.base_dir / templates).absolute(),
            default_template=self.string(section, path, "default_template") or DEFAULT_TEMPLATE,
            rules=tuple(
                TemplateRule(
                    item["template"], item.get("project"), item.get("name"), item.get("language")
                )
                for item in self._rules(section, path, "rules", _RULE_KEYS, "template")
            ),
            owners=MappingProxyType(self._names_map(section, path, "owners", lower=True)),
            systems=MappingProxyType(self._names_map(section, path, "systems", lower=True)),
            fallback_owner=self.string(section, path, "fallback_owner"),
            lifecycle=MappingProxyType(lifecycle),
            type_rules=tuple(
                TypeRule(
                    item["type"],
                    item.get("project"),
                    item.get("name"),
                    tuple(item.get("languages") or ()),
                )
                for item in self._rules(section, path, "type_rules", _TYPE_RULE_KEYS, "type")
            ),
        )

    def _names_map(
        self, section: Mapping[str, Any], path: KeyPath, key: str, *, lower: bool = False
    ) -> dict[str, str]:
        """A mapping of names to non-empty strings (keys lower-cased when ``lower``)."""
        raw = section.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add((*path, key), f"must be a mapping of names to strings, not {_kind(raw)}")
            return {}
        out: dict[str, str] = {}
        for name, value in raw.items():
            if not isinstance(value, str) or not value.strip():
                self.add((*path, key, name), f"must be a non-empty string, not {_kind(value)}")
            else:
                out[str(name).lower() if lower else str(name)] = value
        return out

    def _rules(
        self,
        section: Mapping[str, Any],
        path: KeyPath,
        key: str,
        allowed: Sequence[str],
        required: str,
    ) -> list[dict[str, Any]]:
        """A list of rule mappings, each with ``required`` and string conditions."""
        raw = section.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add((*path, key), f"must be a list of rules, not {_kind(raw)}")
            return []
        rules = []
        for index, item in enumerate(raw):
            where = (*path, key, index)
            rule = self.mapping(item, where, allowed)
            if rule is None:
                continue
            before = len(self.problems)
            self.string(rule, where, required, required=True)
            for condition in allowed:
                value = rule.get(condition)
                if condition == "languages":
                    if value is not None and (
                        not isinstance(value, list) or not all(isinstance(v, str) for v in value)
                    ):
                        self.add((*where, condition), "must be a list of language names")
                elif condition != required and value is not None and not isinstance(value, str):
                    self.add((*where, condition), f"must be a string, not {_kind(value)}")
            if len(self.problems) == before:
                rules.append(rule)
        return rules

    # -- typed accessors ----------------------------------------------------------------

    def mapping(
        self,
        raw: Any,
        path: KeyPath,
        allowed: Sequence[str],
        *,
        token_example: str = _PAT_EXAMPLE,
    ) -> dict[str, Any] | None:
        """``raw`` as a mapping whose keys are all allowed; None (and problems) otherwise."""
        if not isinstance(raw, dict):
            self.add(path, f"must be a mapping, not {_kind(raw)}")
            return None
        for key, value in raw.items():
            if _is_secret_key(key):
                if isinstance(value, str):
                    register(value)  # redact it from any text that might still show it
                self.add(
                    (*path, key),
                    "tokens must not be written in the configuration file; "
                    + _token_advice(token_example),
                    at_key=True,
                )
            elif key not in allowed:
                self.add((*path, key), _unknown("key", key, allowed), at_key=True)
        return raw

    def value(
        self, mapping: Mapping[str, Any], path: KeyPath, key: str, kind: type, default: Any
    ) -> Any:
        """The value of an optional ``key`` of type ``kind`` (an absent or null key: default)."""
        raw = mapping.get(key)
        if raw is None:
            return default
        # bool is an int in Python, and YAML's `1` is not `true`.
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            hint = " (YAML 1.2: only true and false are booleans)" if kind is bool else ""
            self.add((*path, key), f"must be {_TYPE_NAMES[kind]}, not {_kind(raw)}{hint}")
            return default
        return raw

    def string(
        self, mapping: Mapping[str, Any], path: KeyPath, key: str, *, required: bool = False
    ) -> str | None:
        """An optional (or required) string; an empty string counts as absent."""
        if mapping.get(key) in (None, ""):
            if required and key not in mapping:
                self.add(path, f"needs {key}", at_key=True)
            elif required:
                self.add((*path, key), "must not be empty")
            return None
        value: str | None = self.value(mapping, path, key, str, None)
        return value

    def integer(
        self,
        mapping: Mapping[str, Any],
        path: KeyPath,
        key: str,
        default: int,
        *,
        low: int,
        high: int,
    ) -> int:
        """An optional integer within ``low..high``."""
        value: int = self.value(mapping, path, key, int, default)
        if not low <= value <= high:
            self.add((*path, key), f"must be between {low} and {high}")
            return default
        return value

    def token_ref(
        self, mapping: Mapping[str, Any], path: KeyPath, *, required: bool, example: str
    ) -> _TokenRef | None:
        """Where the token of a profile or broker comes from: token_env or token_file."""
        env = self.string(mapping, path, "token_env")
        file = self.string(mapping, path, "token_file")
        if env is not None and file is not None:
            self.add((*path, "token_file"), "give token_env or token_file, not both", at_key=True)
            return None
        if env is not None:
            key = (*path, "token_env")
            if _looks_like_token(env):
                register(env)
                advice = _token_advice(example)
                self.add(key, f"looks like a token, not a variable name; {advice}")
                return None
            reference = _ENV_REFERENCE.fullmatch(env)
            if reference:
                # `$VAR` or `${VAR}`: the file is not expanded, and the name is what is wanted.
                self.add(key, f"write the variable's name without $: token_env: {reference[1]}")
                return None
            if not _ENV_NAME.fullmatch(env):
                self.add(key, "must be an environment variable name (letters, digits, _)")
                return None
            return _TokenRef("token_env", env, key)
        if file is not None:
            key = (*path, "token_file")
            if _looks_like_token(file):
                register(file)
                self.add(key, f"looks like a token, not a file path; {_token_advice(example)}")
                return None
            return _TokenRef("token_file", file, key)
        # A literal token key was reported already, with the same advice.
        if required and not any(_is_secret_key(key) for key in mapping):
            self.add(
                path,
                at_key=True,
                message="needs token_env (an environment variable holding the token, e.g. "
                f"token_env: {example}) or token_file (a file holding only the token)",
            )
        return None

    # -- environment ----------------------------------------------------------------------

    def _resolve(self, draft: _Draft) -> Profile | None:
        """Read the draft's tokens and files; its Profile, or None when anything is wrong."""
        before = len(self.problems)
        label = draft.name or _render(("profiles", draft.index))
        token = self._secret(draft.token, label, fallback=True) if draft.token else None
        broker_token = None
        if draft.broker_token is not None:
            broker_token = self._secret(draft.broker_token, label, fallback=False)
        ca_file = None
        if draft.ca_file is not None:
            ca_file = self._ca_file(draft.ca_file, ("profiles", draft.index, "ca_file"))
        name, organizations = draft.name, draft.organizations
        if not draft.complete or len(self.problems) != before or name is None or not organizations:
            return None
        broker = None
        if draft.broker_url is not None and broker_token is not None:
            broker = BrokerSettings(draft.broker_url, broker_token)
        return Profile(
            name=name,
            organizations=organizations,
            api_url=draft.api_url,
            token=token,
            broker=broker,
            backstage=draft.backstage,
            concurrency=draft.concurrency,
            allow_http=draft.allow_http,
            ca_file=ca_file,
            developers_days=draft.developers_days,
            propose=draft.propose,
            generate=draft.generate,
        )

    def _secret(self, ref: _TokenRef, profile: str, *, fallback: bool) -> Secret | None:
        if ref.kind == "token_file":
            value = self._token_file(ref)
            return None if value is None else Secret(value)
        value = self.environ.get(ref.value, "").strip()
        if value:
            return Secret(value)
        in_pipelines = self.environ.get("TF_BUILD", "").lower() == "true"
        pipeline_token = self.environ.get(PIPELINE_TOKEN_ENV, "").strip()
        if fallback and in_pipelines and pipeline_token and ref.value != PIPELINE_TOKEN_ENV:
            self.notes.append(
                f"profile {profile!r}: {ref.value} is not set; using {PIPELINE_TOKEN_ENV}, the "
                "job token of Azure Pipelines (it reaches only what the pipeline's build "
                "identity may read)"
            )
            return Secret(pipeline_token)
        state = "is empty" if ref.value in self.environ else "is not set"
        hint = ""
        if in_pipelines:
            source = "System.AccessToken" if ref.value == PIPELINE_TOKEN_ENV else "YourSecret"
            hint = (
                "; in Azure Pipelines secret variables reach a step only through its env: "
                f"mapping, e.g. {ref.value}: $({source})"
            )
        self.add(ref.key, f"environment variable {ref.value} {state}{hint}")
        return None

    def _token_file(self, ref: _TokenRef) -> str | None:
        file = self.base_dir / Path(ref.value).expanduser()
        try:
            with file.open("rb") as stream:
                data = stream.read(_MAX_TOKEN_FILE_BYTES + 1)
        except FileNotFoundError:
            self.add(ref.key, f"token file {str(file)!r} does not exist")
            return None
        except OSError as error:
            self.add(ref.key, f"cannot read token file {str(file)!r}: {error.strerror or error}")
            return None
        try:
            value = data.decode("utf-8-sig").strip()
        except UnicodeDecodeError:
            value = None
        if value is None or len(data) > _MAX_TOKEN_FILE_BYTES or "\n" in value:
            # Never quote the content: it may be a token, or something else secret.
            self.add(ref.key, f"token file {str(file)!r} must hold only the token, on one line")
            return None
        if not value:
            self.add(ref.key, f"token file {str(file)!r} is empty")
            return None
        return value

    def _ca_file(self, value: str, key: KeyPath) -> Path | None:
        file = (self.base_dir / Path(value).expanduser()).absolute()
        try:
            ssl.create_default_context().load_verify_locations(cafile=file)
        except FileNotFoundError:
            self.add(key, f"CA file {str(file)!r} does not exist")
            return None
        except ssl.SSLError:
            self.add(key, f"CA file {str(file)!r} holds no PEM certificate")
            return None
        except OSError as error:
            self.add(key, f"cannot read CA file {str(file)!r}: {error.strerror or error}")
            return None
        return file


_STARTER = """\
# catalog-bridge configuration.
#
# catalog-bridge reads the file named by --config, else the one named by the
# CATALOG_BRIDGE_CONFIG environment variable, else ./catalog-bridge.yaml.{location}
# Every profile is used unless --profile NAME picks some.
#
# No token is ever written here. A profile says where its token is:
#   token_env: VARIABLE   an environment variable that holds the token
#   token_file: PATH      a file that holds only the token (a mounted secret, say);
#                         a relative path starts at this file's folder
# In Azure Pipelines, give a step the job token with
#   env:
#     SYSTEM_ACCESSTOKEN: $(System.AccessToken)
# and write token_env: SYSTEM_ACCESSTOKEN. When a profile's variable is unset in a
# pipeline that provides SYSTEM_ACCESSTOKEN, that token is used instead (with a note).

profiles:
  # A profile is one Azure DevOps instance and the organizations read from it.
  # Profile names must be unique; --profile selects by name.
  - name: default
    # Organization names, or ["*"] for every organization the token can see.
    organizations: [my-organization]
    # Azure DevOps Services: https://dev.azure.com/ (the default). Azure DevOps
    # Server: the server URL with its virtual folder, e.g. https://ado.example.com/tfs/
    api_url: https://dev.azure.com/
    # The personal access token needs Code (Read), Project and Team (Read),
    # Analytics (Read) and Member Entitlement Management (Read).
    token_env: AZURE_DEVOPS_EXT_PAT
    # Most requests in flight at once to this server (1 to 64).
    concurrency: 16
    # List each repository's committers over this many days (one more request per
    # repository); 0 turns it off.
    developers_days: 0

    # Add application context read from each repository's Backstage catalog file.
    # Remove this section to leave repositories without it.
    backstage:
      # The catalog file, read from the root of each repository's default branch.
      filename: catalog-info.yaml
      # The attributes to set (at least one).
      attributes: [catalog_name, title, category, lifecycle, owner, application]
      # Where each attribute is read from; these are the defaults, so delete the lines
      # you do not change. Dots separate keys; double-quote a key that has dots:
      #   application: metadata.annotations."example.com/application"
      fields:
        catalog_name: metadata.name
        title: metadata.title
        category: spec.type
        lifecycle: spec.lifecycle
        owner: spec.owner
        application: spec.system
      # A monorepo of catalogs: Components of one catalog repository add context to the
      # repositories they name (dev.azure.com/project-repo, or an Azure Repos URL in
      # backstage.io/source-location or view-url). Read once per run with this profile's
      # token; unmapped and ambiguous Components are reported.
      # catalog:
      #   repository: https://dev.azure.com/my-organization/Platform/_git/catalog  # or a path
      #   ref: main                 # default: the remote's default branch (a path: HEAD)
      #   root: catalog-info.yaml   # the root Location, as Backstage registers it
      #   # catalog.rules: the kinds a location may bring in (default: Component, API,
      #   # Location; Kind=type also matches spec.type).
      #   rules: [Component, API, Location, Group, System]
      #   # When a repository has its own file too, both entries are kept; the summary
      #   # counts this one: catalog (the default) or repository.
      #   precedence: catalog

    # Generating catalog files for repositories without one (`catalog-bridge generate`).
    # Every key is optional; uncomment to change what is inferred.
    # generate:
    #   # A folder of templates, each <name>/catalog-info.yaml (default: the bundled
    #   # service, library and website templates).
    #   templates: catalog-templates/
    #   # The template when no rule matches and none is named after the inferred type.
    #   default_template: service
    #   # The first matching rule picks the template: project, name (a glob on the
    #   # repository name) and language (its main language), all case-insensitive.
    #   rules:
    #     - {{template: website, name: "*-web"}}
    #     - {{template: library, project: Platform, language: Go}}
    #   # spec.type: the first matching rule (project, name, languages), else from the
    #   # main language (HTML, CSS...: website) and the name (*-lib, *-sdk: library).
    #   type_rules:
    #     - {{type: documentation, name: "*-docs"}}
    #   # Owner by project, before the project's teams (default team first), the owner
    #   # most sibling catalog files name, and fallback_owner. Nothing is made up: with
    #   # no owner, a repository gets no file and the report says so.
    #   owners: {{Payments: group:default/payments}}
    #   fallback_owner: group:default/platform
    #   # spec.system by project (default: the project's name).
    #   systems: {{Payments: payments-platform}}
    #   # spec.lifecycle by freshness (these are the defaults).
    #   lifecycle:
    #     active: production
    #     inactive: production
    #     dormant: deprecated
    #     n/a: experimental

  # Through a Snyk Broker: the broker client holds the Azure DevOps token, so the
  # profile needs only the broker token, and exactly one organization.
  # - name: brokered
  #   organizations: [my-organization]
  #   broker:
  #     url: https://broker.snyk.io          # the broker server of your Snyk region
  #     token_env: SNYK_BROKER_TOKEN

  # Azure DevOps Server on premises, trusting a private certificate authority.
  # - name: on-premises
  #   organizations: [DefaultCollection]
  #   api_url: https://ado.example.internal/tfs/
  #   token_file: /run/secrets/ado-pat
  #   ca_file: /etc/ssl/certs/internal-ca.pem  # PEM bundle, trusted with the system's
  #   allow_http: false                        # true permits plain http:// (insecure)
"""


def starter_config(path: str | os.PathLike[str] | None = None) -> str:
    """The commented starter file of ``catalog-bridge init``.

    ``path`` is where it will be written: when that is not where catalog-bridge looks by
    default, the header says how to point at it.
    """
    location = ""
    if path is not None and Path(path) != Path(DEFAULT_CONFIG_FILE):
        # A line break in the name would end the comment and spoil the YAML.
        shown = " ".join(str(path).splitlines())
        location = f"\n# This file is elsewhere: use --config {shown} or set {CONFIG_ENV}={shown}."
    return _STARTER.format(location=location)


def write_starter(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write :func:`starter_config` to ``path`` atomically and return the path.

    Refuses (:class:`UsageError`) to replace an existing file unless ``force``. The text goes
    to a temporary file in the same folder which then takes the final name, so a reader
    never sees half a file and a refused or failed write leaves the old file untouched. A new
    file gets mode 0644: it holds no secret (tokens are refused), and teammates or a CI user
    may need to read it; a replaced file keeps its mode.
    """
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        raise ConfigError(f"cannot write: {error.strerror or error}", source=str(target)) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(starter_config(path))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        if force:
            os.replace(temporary, target)
        else:
            # A hard link creates the name only if it is still free (no race with another
            # writer between the check above and now); the temporary name is removed below.
            os.link(temporary, target)
    except FileExistsError:
        raise UsageError(f"{target} already exists; use --force to replace it") from None
    except OSError as error:
        raise ConfigError(f"cannot write: {error.strerror or error}", source=str(target)) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _token_advice(example: str = "VARIABLE") -> str:
    return (
        "put the token in an environment variable and write its name "
        f"(token_env: {example}), or in a file (token_file: PATH)"
    )


_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    list: "a list",
    dict: "a mapping",
}


def _line(document: YamlDocument | None, problem: _Problem) -> int | None:
    """The line of the problem's key or value, else of the nearest enclosing one."""
    if document is None:
        return None
    path, at_key = problem.path, problem.at_key
    while (position := document.position(path)) is None:
        if not path:
            return None
        path, at_key = path[:-1], False
    return position.key_line if at_key and position.key_line else position.line


def _kind(value: Any) -> str:
    """How a YAML value is described in a message (never the value: it may be a token)."""
    if value is None:
        return "empty"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _normal_key(key: str) -> str:
    """``apiUrl``, ``api-url`` and ``API_URL`` all become ``api_url``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).replace("-", "_").lower()


def _is_secret_key(key: str) -> bool:
    normal = _normal_key(key)
    return normal in _SECRET_KEYS or normal.endswith(_SECRET_SUFFIXES)


def _looks_like_token(value: str) -> bool:
    """Whether a value is likely a token: a known format, or long, random-looking text."""
    if any(pattern.fullmatch(value) for pattern in _KNOWN_TOKEN_FORMATS):
        return True
    # Variable names are conventionally upper case and file paths have / or a dot; tokens mix
    # lower-case letters and digits without them.
    return bool(
        _TOKEN_ALPHABET.fullmatch(value)
        and re.search(r"[0-9]", value)
        and re.search(r"[a-z]", value)
    )


def _unknown(what: str, word: str, choices: Iterable[str]) -> str:
    options = list(choices)
    normal = _normal_key(word)
    match = _ATTRIBUTE_ALIASES.get(normal) if what == "attribute" else None
    if match is None:
        close = difflib.get_close_matches(normal, options, n=1, cutoff=0.6)
        match = close[0] if close else None
    if match is not None:
        return f"unknown {what} {word!r}; did you mean {match}?"
    return f"unknown {what} {word!r}; expected one of: {', '.join(options)}"


def _render(path: KeyPath) -> str:
    """``("profiles", 0, "broker", "url")`` as ``profiles[0].broker.url``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{quote_segment(part)}" if text else quote_segment(part)
    return text
