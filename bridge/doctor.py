"""``catalog-bridge doctor``: check a profile's access before a sync depends on it.

:func:`diagnose` probes every profile and organization of a configuration and records one
:class:`Check` per question, always in this order for an organization:

``api``
    The API answers (any HTTP answer counts as reachable), the api-version in use (7.1, or the
    ceiling an older server made the client step down to) and the deployment type.
``token``
    Who the token authenticates as (``connectionData``), or why it was refused: Azure DevOps
    answers an unknown or malformed token with its sign-in page, and an expired or revoked one
    with HTTP 401.
``access-level``
    The token owner's access level, from their user entitlement: Snyk Essentials needs the
    owner to have **Basic** (or better, e.g. through a Visual Studio subscription); a
    Stakeholder fails. Not checked without Member Entitlement Management (Read), on servers
    without the entitlements service, or when a broker hides who the owner is.
``scope:code-read``, ``scope:project-read``, ``scope:member-entitlement-read``,
``scope:analytics-read``
    One request that needs each PAT scope Snyk Essentials relies on.
``scope:code-write``
    Only when the profile enables ``propose``: Code (Read & write), probed with a pull
    request without branches, which Azure DevOps refuses as invalid once the scope is there
    (nothing is created).
``broker``
    Only with a Snyk Broker: whether it relays, and (when the profile reads Backstage catalog
    files) whether the broker client's accept rules let a catalog file through.

A profile that reads every organization (``["*"]``) first gets an ``organizations`` check
for listing them (organization ``*``); the listed organizations are then checked as above.

When the token is refused, the scope checks are skipped rather than failed: every request
would be refused for the same reason, and one failure per cause keeps the hints readable.
Through a broker, the token checked is the broker client's. Its default accept rules block
``connectionData`` (Snyk's Essentials rules allow it): the token check is then skipped, and
the scope checks, which go through the same broker client, test that token instead.

Every failure carries a hint saying how to fix it. :func:`render_table` (people) and
:func:`render_json` (machines) present a :class:`DoctorReport`, and
:attr:`DoctorReport.exit_code` is what the process should exit with. Nothing rendered
contains a token: every text passes through :func:`bridge.secrets.redact`.
:func:`doctor_command` is the command itself: configuration file in, report and exit code out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Collection,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from itertools import chain
from typing import Any, Generic, Literal, TextIO, TypeVar

from bridge.azure import (
    AzureDevOpsClient,
    ConnectionData,
    FileContent,
    Project,
    ProjectLanguages,
    Repository,
    RetryPolicy,
    Service,
    UserEntitlement,
    UserEntitlementsPage,
)
from bridge.azure import versions as api_versions
from bridge.config import Config, Profile, load_config
from bridge.errors import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_PRECEDENCE,
    EXIT_PROBLEMS,
    EXIT_UNAVAILABLE,
    AuthenticationError,
    AzureDevOpsError,
    BrokerBlockedError,
    BrokerError,
    ConfigError,
    NotFoundError,
    ServiceError,
    UntrustedCertificateError,
    exit_code_for,
)
from bridge.secrets import redact
from bridge.terminal import color_wanted, request_log, write_notes

Status = Literal["ok", "fail", "warn", "skip"]

ALL_ORGANIZATIONS = "*"
"""The organization column of the ``organizations`` check of a ``["*"]`` profile."""

API = "api"
TOKEN = "token"
ACCESS_LEVEL = "access-level"
ORGANIZATIONS = "organizations"
BROKER = "broker"
CODE_READ = "scope:code-read"
PROJECT_READ = "scope:project-read"
ENTITLEMENTS_READ = "scope:member-entitlement-read"
ANALYTICS_READ = "scope:analytics-read"
CODE_WRITE = "scope:code-write"

DOCTOR_RETRY = RetryPolicy(max_attempts=3, max_elapsed=30.0, backoff_base=0.5, backoff_cap=5.0)
"""A diagnosis should answer within seconds: fewer, shorter retries than a sync's."""
DOCTOR_TIMEOUT = 15.0
MAX_PARALLEL_ORGANIZATIONS = 8

# Most important first: the exit code of a report is that of its first failure class here.
# The codes a failed check may carry (ranked, like a sync's, by errors.EXIT_PRECEDENCE).
_CHECK_CODES = (EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_PROBLEMS)

_PAT_PAGE = "User settings > Personal access tokens"
_ALL_SCOPES = (
    "Code (Read), Project and Team (Read), Member Entitlement Management (Read) and "
    "Analytics (Read)"
)
_RELAYED_TOKEN = "the broker client's Azure DevOps token (AZURE_REPOS_TOKEN)"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Check:
    """The answer to one question about one organization of one profile.

    ``status`` is ``ok``, ``fail``, ``warn`` (works, with a caveat) or ``skip`` (not asked,
    ``detail`` says why). ``hint`` says how to fix a failure. ``exit_code`` is the exit code
    of a failure's class (auth, unavailable or other problems) and ``EXIT_OK`` otherwise.
    """

    profile: str
    organization: str
    name: str
    status: Status
    detail: str
    hint: str | None = None
    exit_code: int = EXIT_OK


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check of a diagnosis, grouped by profile and organization in configuration order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """False if any check failed (warnings and skipped checks do not fail)."""
        return not self.failures

    @property
    def failures(self) -> tuple[Check, ...]:
        """The failed checks, in report order."""
        return tuple(check for check in self.checks if check.status == "fail")

    @property
    def exit_code(self) -> int:
        """``EXIT_OK``, else the code of the most important failure class among the failures.

        A refused token or blocked request (``EXIT_AUTH``) outranks an unreachable service
        (``EXIT_UNAVAILABLE``), which outranks anything else (``EXIT_PROBLEMS``): the order of
        :data:`bridge.errors.EXIT_PRECEDENCE`, which a sync follows too.
        """
        codes = {check.exit_code for check in self.failures}
        return next((code for code in EXIT_PRECEDENCE if code in codes), EXIT_OK)


def doctor_command(
    *,
    config_file: str | None,
    profiles: Sequence[str],
    organizations: Sequence[str],
    output_format: str,
    environ: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    verbose: bool = False,
) -> int:
    """``catalog-bridge doctor``: load the configuration, print its notes to ``stderr``,
    diagnose it, print the report to ``stdout`` as a ``table`` (coloured on a terminal, see
    :func:`bridge.terminal.color_wanted`) or as ``json``, and return the exit code.
    ``verbose`` logs every request to ``stderr``."""
    config = load_config(config_file, environ=environ, profiles=profiles)
    write_notes(config.notes, stderr)
    color = color_wanted(stdout, environ)
    with request_log(stderr if verbose else None):
        report = asyncio.run(diagnose(config, org_filter=organizations))
    stdout.write(
        render_json(report) if output_format == "json" else render_table(report, color=color)
    )
    return report.exit_code


async def diagnose(
    config: Config,
    *,
    org_filter: Collection[str] | None = None,
    retry: RetryPolicy = DOCTOR_RETRY,
    timeout: float = DOCTOR_TIMEOUT,
) -> DoctorReport:
    """Check every profile of ``config`` and each of its organizations.

    Organizations are checked concurrently, at most :data:`MAX_PARALLEL_ORGANIZATIONS` at a
    time. ``org_filter`` keeps only the named organizations (case-insensitive); a name that
    no profile lists raises :class:`UsageError` before anything is sent, unless a profile
    reads every organization (then its ``organizations`` check warns about names the token
    does not see). ``retry`` and ``timeout`` apply to every request. Failures never raise:
    they become failed checks.
    """
    wanted = _OrganizationFilter.of(org_filter, config)
    slots = asyncio.Semaphore(MAX_PARALLEL_ORGANIZATIONS)
    settings = _Settings(retry, timeout, slots)
    per_profile = await asyncio.gather(
        *(_diagnose_profile(profile, wanted, settings) for profile in config.profiles)
    )
    return DoctorReport(tuple(chain.from_iterable(per_profile)))


# -- which organizations ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OrganizationFilter:
    """The ``org_filter`` names, lower-cased (organization names are case-insensitive)."""

    names: frozenset[str] | None
    listed: frozenset[str]  # every name some profile lists explicitly

    @classmethod
    def of(cls, names: Collection[str] | None, config: Config) -> _OrganizationFilter:
        listed = frozenset(
            name.lower()
            for profile in config.profiles
            if not profile.all_organizations
            for name in profile.organizations
        )
        return cls(config.organization_filter(names or ()) or None, listed)

    def select(self, organizations: Sequence[str]) -> list[str]:
        if self.names is None:
            return list(organizations)
        return [name for name in organizations if name.lower() in self.names]

    def unseen(self, seen: Sequence[str]) -> list[str]:
        """Filter names neither in ``seen`` nor listed by any profile."""
        if self.names is None:
            return []
        found = {name.lower() for name in seen} | self.listed
        return sorted(self.names - found)


@dataclass(frozen=True, slots=True)
class _Settings:
    retry: RetryPolicy
    timeout: float
    slots: asyncio.Semaphore


async def _diagnose_profile(
    profile: Profile, wanted: _OrganizationFilter, settings: _Settings
) -> list[Check]:
    checks: list[Check] = []
    if profile.all_organizations:
        async with settings.slots:
            listing, names = await _list_organizations(profile, wanted, settings)
        checks.append(listing)
    else:
        names = wanted.select(profile.organizations)
    per_organization = await asyncio.gather(
        *(_diagnose_organization(profile, name, settings) for name in names)
    )
    checks.extend(chain.from_iterable(per_organization))
    return checks


async def _list_organizations(
    profile: Profile, wanted: _OrganizationFilter, settings: _Settings
) -> tuple[Check, list[str]]:
    """The ``organizations`` check of a ``["*"]`` profile, and the organizations to check."""
    report = _Reporter(profile, ALL_ORGANIZATIONS)
    try:
        client = _client(profile, None, settings)
    except (ConfigError, OSError) as error:
        return report.settings_failure(ORGANIZATIONS, error), []
    async with client:
        listed = await _attempt(_collect(client.organizations()))
    if listed.error is not None:
        return report.failure(ORGANIZATIONS, listed.error, _listing_hint(profile, listed.error)), []
    names = [organization.name for organization in listed.value or []]
    if not names:
        return report.fail(
            ORGANIZATIONS,
            "the token sees no organization",
            "make the token's owner a member of the organizations to sync, or name them in "
            f"organizations of profile '{profile.name}'",
        ), []
    selected = wanted.select(names)
    detail = f"the token sees {_count(len(names), 'organization')}: {', '.join(names)}"
    unseen = wanted.unseen(names)
    if unseen:
        return report.warn(
            ORGANIZATIONS, f"{detail}; not among them: {', '.join(unseen)}"
        ), selected
    return report.ok(ORGANIZATIONS, detail), selected


def _listing_hint(profile: Profile, error: BaseException) -> str:
    if isinstance(error, AuthenticationError) and error.reason == "unknown-token":
        return _token_hint(profile, error)
    if isinstance(error, AuthenticationError):
        return (
            "listing organizations needs a PAT created for 'All accessible organizations' "
            f"(the Organization field when creating it in {_PAT_PAGE}); or name the "
            f"organizations in profile '{profile.name}' instead of \"*\""
        )
    if isinstance(error, NotFoundError):
        return (
            "this server cannot list its organizations (Azure DevOps Server has no accounts "
            f"service): name the collections in organizations of profile '{profile.name}', "
            "e.g. [DefaultCollection]"
        )
    return _generic_hint(profile, error)


# -- one organization ------------------------------------------------------------------------


async def _diagnose_organization(
    profile: Profile, organization: str, settings: _Settings
) -> list[Check]:
    report = _Reporter(profile, organization)
    # The client is made inside the slot: making one costs a TLS context, and an estate may
    # have hundreds of organizations waiting for their turn.
    async with settings.slots:
        try:
            client = _client(profile, organization, settings)
        except (ConfigError, OSError) as error:
            return [
                report.settings_failure(API, error),
                *report.skip_rest("not probed: the profile's settings cannot be used (see api)"),
            ]
        async with client:
            return await _OrganizationProbe(profile, client, report).run()


def _client(profile: Profile, organization: str | None, settings: _Settings) -> AzureDevOpsClient:
    """A client for ``organization`` (None: for listing organizations) as a sync makes it."""
    return profile.client(organization, retry=settings.retry, timeout=settings.timeout)


@dataclass(frozen=True, slots=True)
class _Outcome(Generic[T]):
    """The result of one probe: its value, or the error it ended with."""

    value: T | None = None
    error: AzureDevOpsError | ConfigError | None = None

    @property
    def reached_azure(self) -> bool:
        """Whether Azure DevOps itself answered (successfully or not)."""
        error = self.error
        if error is None:
            return True
        return isinstance(error, AzureDevOpsError) and not (
            isinstance(error, BrokerError) or _no_answer(error)
        )


async def _attempt(probe: Awaitable[T]) -> _Outcome[T]:
    try:
        return _Outcome(value=await probe)
    except (AzureDevOpsError, ConfigError) as error:
        return _Outcome(error=error)


async def _collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


async def _first(items: AsyncIterator[T]) -> T | None:
    """The first item of an async iterator; later pages are never fetched."""
    try:
        return await anext(items, None)
    finally:
        # The client's lists are async generators: close this one now rather than at exit.
        if isinstance(items, AsyncGenerator):
            await items.aclose()


def _no_answer(error: BaseException) -> bool:
    """A request that got no HTTP answer at all (connection, TLS or timeout failure)."""
    return isinstance(error, ServiceError) and error.status is None


def _untrusted_certificate(error: BaseException) -> bool:
    return isinstance(error, UntrustedCertificateError)


@dataclass(frozen=True, slots=True)
class _Scope:
    """A PAT scope Snyk Essentials needs, and the probe that exercises it."""

    check: str
    label: str  # as the Azure DevOps token page names it
    probe: str  # what the probe does, for details
    broker_route: str  # the accept rule a broker client needs for the probe
    essentials_rule: bool  # whether the broker's Snyk Essentials rules accept the probe
    method: str = "GET"


_CODE = _Scope(
    CODE_READ, "Code (Read)", "list repositories", "/:project/_apis/git/repositories", True
)
_PROJECT = _Scope(
    PROJECT_READ, "Project and Team (Read)", "list projects", "/_apis/projects", False
)
_ENTITLEMENTS = _Scope(
    ENTITLEMENTS_READ,
    "Member Entitlement Management (Read)",
    "list user entitlements",
    "/_apis/userentitlements",
    True,
)
_ANALYTICS = _Scope(
    ANALYTICS_READ,
    "Analytics (Read)",
    "read language metrics",
    "/:project/_apis/projectanalysis/languagemetrics",
    True,
)
_SCOPES = (_CODE, _PROJECT, _ENTITLEMENTS, _ANALYTICS)  # the order of the checks
# Only for profiles that enable propose (pushes and pull requests).
_WRITE = _Scope(
    CODE_WRITE,
    "Code (Read & write)",
    "propose a pull request",
    "/:project/_apis/git/repositories/:repo/pullrequests",
    False,
    method="POST",
)


@dataclass(frozen=True, slots=True)
class _Probes:
    """What the scope probes (and the catalog read through a broker) found."""

    projects: _Outcome[Project | None]
    repositories: _Outcome[list[Repository]]
    project: str | None  # the project whose language metrics were read
    languages: _Outcome[ProjectLanguages] | None  # None: no project to ask about
    entitlements: _Outcome[UserEntitlementsPage]
    owner: _Outcome[UserEntitlement] | None  # None: the token's owner is not known
    catalog: _Outcome[FileContent | None] | None  # None: not probed
    write: _Outcome[None] | None = None  # None: propose is off, or no repository to ask

    def outcomes(self) -> list[_Outcome[Any]]:
        found: list[_Outcome[Any] | None] = [
            self.projects,
            self.repositories,
            self.languages,
            self.entitlements,
        ]
        return [outcome for outcome in found if outcome is not None]


class _OrganizationProbe:
    """The checks of one organization, from the probes made with one client."""

    def __init__(self, profile: Profile, client: AzureDevOpsClient, report: _Reporter) -> None:
        self.profile = profile
        self.client = client
        self.report = report
        self.via_broker = profile.broker is not None

    async def run(self) -> list[Check]:
        identity = await _attempt(self.client.connection_data())
        error = identity.error
        if error is None or isinstance(error, BrokerBlockedError):
            probes = await self._probe_scopes(identity.value)
            return [
                self._api(identity, probes),
                self._token(identity),
                self._access_level(probes),
                *self._scopes(probes),
                *self._broker(probes),
            ]
        if isinstance(error, AuthenticationError):
            return [
                self.report.ok(API, f"{_reachable(error)}; {self._unnegotiated()}"),
                self.report.failure(
                    TOKEN,
                    error,
                    _token_hint(self.profile, error),
                    detail=self._token_refused(error),
                ),
                *self.report.skip_after_token("not probed: the token was refused"),
                *self._relay_works(),
            ]
        return self._unreachable(error)

    def _token_refused(self, error: AuthenticationError) -> str:
        whose = _RELAYED_TOKEN if self.via_broker else "the token"
        if error.reason == "unknown-token":
            reason = "unknown or malformed: Azure DevOps answered with its sign-in page"
        else:
            reason = "rejected: expired or revoked, or not valid for this organization"
        return f"{whose} is {reason}{error.codes}"

    # -- probing --------------------------------------------------------------------------

    async def _probe_scopes(self, identity: ConnectionData | None) -> _Probes:
        # User entitlements need no project: ask for them while the project chain runs.
        async with asyncio.TaskGroup() as group:
            entitlements = group.create_task(_attempt(self.client.user_entitlements()))
            owner = None
            if identity is not None and not identity.is_anonymous:
                owner = group.create_task(_attempt(self.client.user_entitlement(identity.user_id)))
            projects = await _attempt(_first(self.client.projects()))
            project = projects.value.name if projects.value is not None else None
            repositories = await _attempt(_collect(self.client.repositories(project)))
            if project is None and repositories.value:
                # Without Project and Team (Read) the repositories still name a project.
                project = repositories.value[0].project_name
            languages = None
            if project is not None:
                languages = await _attempt(self.client.language_metrics(project))
            catalog = None
            backstage = self.profile.backstage
            if self.via_broker and backstage is not None:
                catalog = await self._read_catalog_file(backstage.filename, repositories.value)
            write = None
            target = _writable(repositories.value)
            if self.profile.propose.enabled and target is not None:
                write = await _attempt(
                    self.client.probe_write_access(target.project_name, target.name)
                )
        return _Probes(
            projects,
            repositories,
            project,
            languages,
            entitlements.result(),
            owner.result() if owner is not None else None,
            catalog,
            write,
        )

    async def _read_catalog_file(
        self, filename: str, repositories: list[Repository] | None
    ) -> _Outcome[FileContent | None] | None:
        """Read the catalog file of one repository with a branch (None: there is none)."""
        repository = _writable(repositories)
        if repository is None:
            return None
        path = f"/{filename}"
        return await _attempt(
            self.client.file_content(repository.project_name, repository.name, path)
        )

    # -- api and token ---------------------------------------------------------------------

    def _api(self, identity: _Outcome[ConnectionData], probes: _Probes) -> Check:
        where = "reachable through the Snyk Broker" if self.via_broker else "reachable"
        if identity.value is not None:
            parts = [where, self._negotiated()]
            deployment = _DEPLOYMENTS.get(identity.value.deployment_type or "")
            if deployment:
                parts.append(deployment)
            return self.report.ok(API, "; ".join(parts))
        # connectionData was blocked by the broker: the scope probes tell whether Azure answers.
        outcomes = probes.outcomes()
        if any(outcome.error is None for outcome in outcomes):
            return self.report.ok(API, f"{where}; {self._negotiated()}")
        if any(outcome.reached_azure for outcome in outcomes):
            return self.report.ok(API, f"{where}; {self._unnegotiated()}")
        return self.report.skip(
            API, "not probed: the broker client's accept rules block every probe"
        )

    def _negotiated(self) -> str:
        version = _api_version(self.client)
        if api_versions.number(version) < api_versions.number(api_versions.DEFAULT):
            stepped = f"the server's highest; stepped down from {api_versions.DEFAULT}"
            return f"api-version {version} ({stepped})"
        return f"api-version {version}"

    @staticmethod
    def _unnegotiated() -> str:
        return "api-version not known: no request was answered with data"

    def _token(self, identity: _Outcome[ConnectionData]) -> Check:
        if identity.value is None:
            return self.report.skip(
                TOKEN,
                "not checked directly: the broker client's accept rules block GET "
                "/_apis/connectionData; the scope checks exercise its token",
            )
        name = identity.value.user_name or f"identity {identity.value.user_id}"
        whose = f"{_RELAYED_TOKEN} authenticates" if self.via_broker else "authenticated"
        return self.report.ok(TOKEN, f"{whose} as {name}")

    def _access_level(self, probes: _Probes) -> Check:
        owner = probes.owner
        if owner is None:
            reason = "the broker client's accept rules hide who owns the token (connectionData)"
            return self.report.skip(ACCESS_LEVEL, f"not checked: {reason}")
        error = owner.error
        if isinstance(error, AuthenticationError) or isinstance(
            probes.entitlements.error, NotFoundError
        ):
            # The scope check (or the missing entitlements service) says it once, there.
            return self.report.skip(
                ACCESS_LEVEL, f"not checked: user entitlements cannot be read ({ENTITLEMENTS_READ})"
            )
        if isinstance(error, NotFoundError):
            return self.report.warn(
                ACCESS_LEVEL,
                "the token's owner has no user entitlement in this organization: its access "
                "level cannot be told",
            )
        if isinstance(error, BrokerBlockedError):
            return self.report.skip(
                ACCESS_LEVEL,
                "not checked: the broker client's accept rules block GET "
                "/_apis/userentitlements/{userId}",
            )
        if error is not None:
            return self.report.failure(ACCESS_LEVEL, error, _generic_hint(self.profile, error))
        assert owner.value is not None  # an outcome holds a value or an error
        return self._judge_access_level(owner.value)

    def _judge_access_level(self, owner: UserEntitlement) -> Check:
        whose = f"the token's owner{f' {owner.display_name}' if owner.display_name else ''}"
        level = owner.license or owner.license_type or "unknown"
        if _basic_or_better(owner):
            return self.report.ok(ACCESS_LEVEL, f"{whose} has the {level} access level")
        detail = f"{whose} has the {level} access level; Snyk Essentials needs Basic"
        hint = (
            "an organization administrator gives the token's owner the Basic access level "
            "(Organization settings > Users > Change access level), or create the PAT as a "
            f"user who has Basic and store it where profile '{self.profile.name}' reads its token"
        )
        if (owner.license_type or "").lower() in _BELOW_BASIC:
            return self.report.fail(ACCESS_LEVEL, detail, hint)
        return self.report.warn(ACCESS_LEVEL, f"{detail} (this access level is not known here)")

    # -- scopes ----------------------------------------------------------------------------

    def _scopes(self, probes: _Probes) -> list[Check]:
        code = self._scope(_CODE, probes.repositories, _repositories_detail(probes))
        projects = self._scope(_PROJECT, probes.projects, _projects_detail(probes.projects))
        entitlements = self._entitlements(probes.entitlements)
        if probes.languages is None:
            analytics = self.report.skip(
                ANALYTICS_READ, "not probed: no project to read language metrics of"
            )
        else:
            analytics = self._scope(
                _ANALYTICS,
                probes.languages,
                f"reads language metrics of project '{probes.project}'",
            )
        checks = [code, projects, entitlements, analytics]  # the order of _SCOPES
        if self.profile.propose.enabled:
            if probes.write is None:
                reason = "not probed: no repository with a branch to propose to"
                checks.append(self.report.skip(CODE_WRITE, reason))
            else:
                checks.append(
                    self._scope(_WRITE, probes.write, "may push branches and open pull requests")
                )
        return checks

    def _scope(self, scope: _Scope, outcome: _Outcome[Any], success: str) -> Check:
        if outcome.error is None:
            return self.report.ok(scope.check, success)
        error = outcome.error
        detail = None
        if isinstance(error, AuthenticationError):
            # connectionData accepted the token for this organization: only the scope is missing.
            whose = _RELAYED_TOKEN if self.via_broker else "the token"
            detail = f"refused to {scope.probe}: {whose} lacks {scope.label}{error.codes}"
        return self.report.failure(
            scope.check, error, self._scope_hint(scope, error), detail=detail
        )

    def _entitlements(self, outcome: _Outcome[UserEntitlementsPage]) -> Check:
        if isinstance(outcome.error, NotFoundError):
            # Azure DevOps Server and some proxies have no Member Entitlement Management
            # service: a sync then does without licence data, which is not a failure.
            return self.report.warn(
                ENTITLEMENTS_READ,
                "this server has no user entitlements service (Azure DevOps Server has none); "
                "repositories sync without licence data",
            )
        page = outcome.value
        total = page.total_count if page is not None and page.total_count is not None else None
        members = f" ({_count(total, 'member')})" if total is not None else ""
        return self._scope(_ENTITLEMENTS, outcome, f"lists user entitlements{members}")

    def _scope_hint(self, scope: _Scope, error: BaseException) -> str:
        if isinstance(error, BrokerBlockedError):
            rule = f"{scope.method} {scope.broker_route}"
            hint = f"add an accept rule for {rule} to the broker client's accept.json"
            if scope.essentials_rule:
                hint += (
                    " (its Snyk Essentials rules have one: start it with ACCEPT_ESSENTIALS=true)"
                )
            return hint
        if isinstance(error, AuthenticationError):
            if self.via_broker:
                return (
                    f"edit the broker client's PAT in {_PAT_PAGE} and add the {scope.label} scope"
                )
            return (
                f"edit the PAT in {_PAT_PAGE} and add the {scope.label} scope (the token "
                f"stays the same), or create a PAT with {_ALL_SCOPES} and store it where "
                f"profile '{self.profile.name}' reads its token"
            )
        return _generic_hint(self.profile, error)

    # -- broker ----------------------------------------------------------------------------

    def _broker(self, probes: _Probes) -> list[Check]:
        if not self.via_broker:
            return []
        catalog = probes.catalog
        if self.profile.backstage is None:
            return self._relay_works()
        if catalog is None:
            detail = "relays requests; catalog file reads not probed: no repository with a branch"
            return [self.report.warn(BROKER, detail)]
        if isinstance(catalog.error, BrokerError):
            hint = _broker_hint(self.profile, catalog.error)
            return [self.report.failure(BROKER, catalog.error, hint)]
        # Any other answer, a missing file included, came from Azure DevOps: the rules let it by.
        detail = "relays requests; its accept rules let catalog file reads through"
        return [self.report.ok(BROKER, detail)]

    def _relay_works(self) -> list[Check]:
        if not self.via_broker:
            return []
        return [self.report.ok(BROKER, "relays requests to Azure DevOps")]

    # -- nothing usable answered -----------------------------------------------------------

    def _unreachable(self, error: AzureDevOpsError | ConfigError) -> list[Check]:
        """``connectionData`` failed without Azure DevOps judging the token."""
        broker_failed = self.via_broker and (isinstance(error, BrokerError) or _no_answer(error))
        if broker_failed:
            reason = "not probed: the Snyk Broker relays nothing (see broker)"
            return [
                self.report.skip(API, reason),
                *self.report.skip_rest(reason, broker=False),
                self.report.failure(BROKER, error, _broker_hint(self.profile, error)),
            ]
        return [
            self.report.failure(API, error, _api_hint(self.profile, self.client, error)),
            *self.report.skip_rest("not probed: the API did not answer usefully (see api)"),
        ]


# accountLicenseType values: express is Basic; professional and advanced include it.
_BASIC_OR_BETTER = frozenset({"express", "professional", "advanced", "earlyadopter"})
_BELOW_BASIC = frozenset({"stakeholder", "none"})
# msdnLicenseType values of Visual Studio subscriptions, which include Basic.
_SUBSCRIPTIONS = frozenset(
    {"professional", "platforms", "testprofessional", "premium", "ultimate", "enterprise"}
)


def _writable(repositories: list[Repository] | None) -> Repository | None:
    """A repository a pull request could be proposed to (it has a branch, it is enabled)."""
    return next((r for r in repositories or () if r.default_branch and not r.is_disabled), None)


def _basic_or_better(owner: UserEntitlement) -> bool:
    if (owner.licensing_source or "").lower() == "msdn":
        return (owner.msdn_license_type or "").lower() in _SUBSCRIPTIONS
    return (owner.license_type or "").lower() in _BASIC_OR_BETTER


def _reachable(error: AzureDevOpsError) -> str:
    return f"reachable (HTTP {error.status})" if error.status else "reachable"


_DEPLOYMENTS = {
    "hosted": "cloud (Azure DevOps Services)",
    "onPremises": "on-premises (Azure DevOps Server)",
}


def _api_version(client: AzureDevOpsClient) -> str:
    """The api-version the client now sends to the organization's core service."""
    return client.api_version(Service.CORE)


def _projects_detail(outcome: _Outcome[Project | None]) -> str:
    if outcome.value is None:
        return "lists projects (the organization has none)"
    return f"lists projects (e.g. '{outcome.value.name}')"


def _repositories_detail(probes: _Probes) -> str:
    found = _count(len(probes.repositories.value or []), "repository", "repositories")
    if probes.projects.value is None:
        return f"lists the organization's repositories ({found})"
    return f"lists repositories of project '{probes.projects.value.name}' ({found})"


# -- hints -----------------------------------------------------------------------------------


def _token_hint(profile: Profile, error: AuthenticationError) -> str:
    if profile.broker is not None:
        return (
            f"{_RELAYED_TOKEN} was refused: create a new PAT with {_ALL_SCOPES} for this "
            "organization, set it in the broker client's configuration and restart the client"
        )
    store = (
        f"store it where profile '{profile.name}' reads its token (token_env, e.g. "
        "AZURE_DEVOPS_EXT_PAT, or token_file)"
    )
    if error.reason == "unknown-token":
        return (
            "Azure DevOps does not know this token: create a personal access token in "
            f"{_PAT_PAGE} with {_ALL_SCOPES} and {store}; check that the stored value has no "
            "quotes or stray spaces"
        )
    return (
        "the token is expired or revoked, or not valid for this organization: create or "
        f"regenerate a PAT for it (or for 'All accessible organizations') in {_PAT_PAGE} with "
        f"{_ALL_SCOPES}, and {store}"
    )


def _api_hint(profile: Profile, client: AzureDevOpsClient, error: BaseException) -> str:
    api_url = profile.api_url
    if _untrusted_certificate(error):
        if profile.ca_file is not None:
            return (
                f"the CA in ca_file ({profile.ca_file}) did not sign the server's certificate: "
                f"point ca_file of profile '{profile.name}' at the PEM file of the CA that did"
            )
        return (
            f"trust the server's CA with ca_file: /path/to/ca.pem (PEM) in profile "
            f"'{profile.name}', or check that api_url ({api_url}) names the right host"
        )
    if _no_answer(error):
        return (
            f"check api_url ({api_url}) of profile '{profile.name}' and that this machine "
            "reaches that host (firewall; proxy settings HTTPS_PROXY and NO_PROXY)"
        )
    if isinstance(error, NotFoundError):
        return (
            f"organization '{client.organization}' does not exist at {api_url}: check its "
            f"name in organizations of profile '{profile.name}' and api_url (Azure DevOps "
            "Server: the URL with its virtual directory, e.g. https://host/tfs/, and the "
            "collection as organization)"
        )
    return _generic_hint(profile, error)


def _broker_hint(profile: Profile, error: BaseException) -> str:
    url = profile.broker.url if profile.broker is not None else ""
    if _no_answer(error):
        return (
            f"check broker.url ({url}) of profile '{profile.name}' and that this machine "
            "reaches the broker server (firewall; proxy settings HTTPS_PROXY and NO_PROXY)"
        )
    if isinstance(error, BrokerError) and error.code == "no-connection":
        return (
            "start the broker client with this profile's broker token as its BROKER_TOKEN, "
            f"and check that it connects to the broker server {url}"
        )
    return _generic_hint(profile, error)


def _generic_hint(profile: Profile, error: BaseException) -> str:
    """The error's own advice, else what to check for a failure without a specific cure."""
    if isinstance(error, AzureDevOpsError) and error.hint:
        return error.hint
    if isinstance(error, ServiceError):
        return "Azure DevOps is failing or overloaded: run the doctor again later"
    return f"check the settings of profile '{profile.name}'"


# -- building checks -------------------------------------------------------------------------


class _Reporter:
    """Makes the checks of one profile and organization (every text redacted)."""

    def __init__(self, profile: Profile, organization: str) -> None:
        self.profile = profile
        self.organization = organization

    def _check(self, name: str, status: Status, detail: str, hint: str | None, code: int) -> Check:
        return Check(
            self.profile.name,
            self.organization,
            name,
            status,
            redact(detail),
            redact(hint) if hint else None,
            code,
        )

    def ok(self, name: str, detail: str) -> Check:
        return self._check(name, "ok", detail, None, EXIT_OK)

    def warn(self, name: str, detail: str) -> Check:
        return self._check(name, "warn", detail, None, EXIT_OK)

    def skip(self, name: str, detail: str) -> Check:
        return self._check(name, "skip", detail, None, EXIT_OK)

    def fail(self, name: str, detail: str, hint: str) -> Check:
        return self._check(name, "fail", detail, hint, EXIT_PROBLEMS)

    def failure(
        self,
        name: str,
        error: AzureDevOpsError | ConfigError,
        hint: str,
        *,
        detail: str | None = None,
    ) -> Check:
        """A failed check for ``error``, classed by the one exit-code table of bridge.errors.

        ``detail`` replaces the error's own message when the check knows more about it.
        """
        code = exit_code_for(error)
        if code not in _CHECK_CODES:
            code = EXIT_PROBLEMS
        return self._check(name, "fail", detail or _describe(error), hint, code)

    def settings_failure(self, name: str, error: ConfigError | OSError) -> Check:
        """The profile's settings cannot make a client (a bad CA file, a refused URL)."""
        if isinstance(error, OSError):
            detail = f"cannot load ca_file {self.profile.ca_file}: {error}"
            hint = (
                f"point ca_file of profile '{self.profile.name}' at a PEM file of CA certificates"
            )
            return self._check(name, "fail", detail, hint, EXIT_PROBLEMS)
        return self.failure(
            name, error, f"fix profile '{self.profile.name}' in the configuration file"
        )

    def skip_after_token(self, reason: str) -> list[Check]:
        """Skipped ``access-level`` and scope checks."""
        scopes = (*_SCOPES, _WRITE) if self.profile.propose.enabled else _SCOPES
        return [self.skip(ACCESS_LEVEL, reason), *(self.skip(s.check, reason) for s in scopes)]

    def skip_rest(self, reason: str, *, broker: bool = True) -> list[Check]:
        """Skipped ``token``, ``access-level`` and scope checks (and ``broker``, if any)."""
        rest = [self.skip(TOKEN, reason), *self.skip_after_token(reason)]
        if broker and self.profile.broker is not None:
            rest.append(self.skip(BROKER, reason))
        return rest


def _describe(error: AzureDevOpsError | ConfigError) -> str:
    """What went wrong, with the Azure DevOps code and HTTP status (the hint is separate)."""
    if not isinstance(error, AzureDevOpsError):
        return str(error)
    return f"{error.message}{error.codes}"


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


# -- rendering -------------------------------------------------------------------------------

_HEADERS = ("PROFILE", "ORGANIZATION", "CHECK", "STATUS", "DETAIL")
_COLOURS = {"ok": "\x1b[32m", "fail": "\x1b[31m", "warn": "\x1b[33m", "skip": "\x1b[2m"}
_RESET = "\x1b[0m"


def render_table(report: DoctorReport, *, color: bool = False) -> str:
    """The report as aligned columns for people, hints for the failures below, and a summary.

    A profile or organization is written once, on its first row. ``color`` adds ANSI colours
    to the status column; pass it only when the output is a terminal.
    """
    rows: list[tuple[str, ...]] = []
    previous: tuple[str, str] | None = None
    for check in report.checks:
        key = (check.profile, check.organization)
        profile = check.profile if previous is None or previous[0] != check.profile else ""
        organization = check.organization if key != previous else ""
        rows.append((profile, organization, check.name, check.status, check.detail))
        previous = key
    widths = [max(len(row[i]) for row in [_HEADERS, *rows]) for i in range(len(_HEADERS) - 1)]
    lines = [_table_line(_HEADERS, widths, color=False)]
    lines += [_table_line(row, widths, color=color) for row in rows]
    failures = report.failures
    if failures:
        lines += ["", "How to fix:"]
        lines += [
            f"  {check.profile} / {check.organization} / {check.name}: {check.hint}"
            for check in failures
        ]
    lines += ["", _summary(report)]
    return redact("\n".join(lines) + "\n")


def _table_line(row: Sequence[str], widths: Sequence[int], *, color: bool) -> str:
    # The last column (detail) is not padded: nothing follows it.
    cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
    status = row[3]
    if color and status in _COLOURS:
        cells[3] = f"{_COLOURS[status]}{cells[3]}{_RESET}"
    return "  ".join([*cells, row[4]]).rstrip()


def _counts(report: DoctorReport) -> dict[str, int]:
    counts = dict.fromkeys(("ok", "fail", "warn", "skip"), 0)
    for check in report.checks:
        counts[check.status] += 1
    return counts


def _summary(report: DoctorReport) -> str:
    counts = _counts(report)
    verdict = "all needed checks passed" if report.ok else "some needed checks failed"
    return (
        f"{_count(len(report.checks), 'check')}: {counts['ok']} ok, {counts['fail']} failed, "
        f"{counts['warn']} warned, {counts['skip']} skipped; {verdict}"
    )


def render_json(report: DoctorReport) -> str:
    """The report as one JSON document: profiles, their organizations and checks, and ``ok``.

    Shape: ``{"ok", "exit_code", "summary": {status: count}, "profiles": [{"name", "ok",
    "checks": [...], "organizations": [{"name", "ok", "checks": [{"name", "status",
    "detail", "hint"}]}]}]}``; a profile's own ``checks`` hold its ``organizations`` listing.
    """
    profiles: dict[str, dict[str, Any]] = {}
    for check in report.checks:
        profile = profiles.setdefault(
            check.profile, {"name": check.profile, "ok": True, "checks": [], "organizations": {}}
        )
        entry = {
            "name": check.name,
            "status": check.status,
            "detail": check.detail,
            "hint": check.hint,
        }
        failed = check.status == "fail"
        profile["ok"] = profile["ok"] and not failed
        if check.organization == ALL_ORGANIZATIONS:
            profile["checks"].append(entry)
            continue
        organization = profile["organizations"].setdefault(
            check.organization, {"name": check.organization, "ok": True, "checks": []}
        )
        organization["ok"] = organization["ok"] and not failed
        organization["checks"].append(entry)
    for profile in profiles.values():
        profile["organizations"] = list(profile["organizations"].values())
    document = {
        "ok": report.ok,
        "exit_code": report.exit_code,
        "summary": _counts(report),
        "profiles": list(profiles.values()),
    }
    return redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
