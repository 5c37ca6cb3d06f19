"""Estates generated at scale: N organizations x M projects x K repositories, from a seed.

Repository kinds (valid, invalid, multi-entity, missing catalog file; empty) are dealt out in
exact proportions and shuffled; disabled and forked repositories are picked independently.
Each repository keeps only a small recipe and rebuilds its history (a few commits by the
organization's members, the last one between today and two years ago, so every freshness
class occurs) when read. The same spec and seed always give the same estate.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bridge.emulator.catalog_files import (
    CatalogKind,
    Facts,
    Mistake,
    invalid_file,
    multi_entity_file,
    valid_file,
)
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
from bridge.emulator.history import History, linear_history
from bridge.emulator.identity import Identity, Signature
from bridge.errors import EmulatorError

DEFAULT_TOKEN_VALUE = "emulator-pat-full-access"  # a fake token for a fake estate

_ORGANIZATIONS = (
    "contoso",
    "fabrikam",
    "northwind",
    "tailspin",
    "wingtip",
    "litware",
    "adatum",
    "woodgrove",
)
_DOMAINS = (
    "Payments", "Identity", "Billing", "Catalog", "Checkout", "Search", "Shipping", "Inventory",
    "Analytics", "Messaging", "Onboarding", "Pricing", "Loyalty", "Reporting", "Compliance",
    "Logistics", "Claims", "Lending", "Trading", "Scheduling", "Notifications", "Support",
    "Procurement", "Marketing", "Security",
)  # fmt: skip
_QUALIFIERS = ("", "Platform", "Services", "Core", "Data", "Web", "Mobile", "Legacy")
_COMPONENTS = (
    "api", "worker", "web", "ui", "service", "gateway", "sdk", "jobs", "db", "etl", "infra",
    "docs", "tests", "cli", "scheduler", "adapter", "events", "config", "proxy", "portal",
)  # fmt: skip
_FIRST_NAMES = (
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Guido", "Anita", "Tim", "Hedy", "John", "Katherine", "Bjarne", "Sophie", "Niklaus",
)  # fmt: skip
_LAST_NAMES = (
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Rossum", "Borg", "Berners-Lee", "Lamarr", "Backus",
    "Johnson", "Wilson",
)  # fmt: skip
_MESSAGES = (
    "Add catalog-info.yaml", "Fix flaky integration test", "Update dependencies",
    "Refactor configuration loading", "Add health endpoint", "Bump base image", "Improve logging",
    "Fix null reference on empty input", "Merged PR: tidy build pipeline", "Document local setup",
)  # fmt: skip
_LANGUAGES = (
    ("Python", ".py"),
    ("C#", ".cs"),
    ("Java", ".java"),
    ("TypeScript", ".ts"),
    ("Go", ".go"),
)
# Age of the newest commit, in days: (share of repositories, lowest, highest).
_FRESHNESS = ((0.4, 0, 30), (0.3, 30, 180), (0.2, 180, 365), (0.1, 365, 730))
# The GenerationSpec fields that are fractions of all repositories, and those that are sizes.
FRACTIONS = ("invalid", "multi_entity", "missing", "empty", "disabled", "fork", "spaces")
SIZES = ("organizations", "projects_per_organization", "repositories_per_project")


@dataclass(frozen=True, slots=True)
class GenerationSpec:
    """How big an estate to generate and how its repositories are mixed.

    ``invalid``, ``multi_entity``, ``missing`` and ``empty`` are fractions of all
    repositories; the rest hold a valid catalog file. ``disabled``, ``fork`` and
    ``spaces`` (names with a space) are independent fractions. ``now`` anchors commit dates
    (default: today at midnight UTC).
    """

    seed: int = 0
    organizations: int = 2
    projects_per_organization: int = 5
    repositories_per_project: int = 10
    invalid: float = 0.1
    multi_entity: float = 0.1
    missing: float = 0.2
    empty: float = 0.02
    disabled: float = 0.02
    fork: float = 0.05
    spaces: float = 0.02
    members_per_organization: int = 40
    now: datetime | None = None

    @property
    def total(self) -> int:
        """The number of repositories."""
        return self.organizations * self.projects_per_organization * self.repositories_per_project

    def check(self) -> None:
        """Raise :class:`EmulatorError` for impossible settings."""
        for name in FRACTIONS:
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise EmulatorError(f"generate.{name}: must be a fraction from 0 to 1, got {value}")
        if self.invalid + self.multi_entity + self.missing + self.empty > 1:
            raise EmulatorError(
                "generate: invalid + multi_entity + missing + empty must not exceed 1"
            )
        for name in SIZES:
            if getattr(self, name) < 0:
                raise EmulatorError(f"generate.{name}: must not be negative")
        if self.members_per_organization < 1:
            raise EmulatorError("generate.members_per_organization: must be at least 1")


@dataclass(frozen=True, slots=True)
class _Recipe:
    """Everything needed to rebuild one repository's history."""

    seed: int
    kind: CatalogKind
    mistake: Mistake
    project: str
    repository: str
    branch: str
    language: int
    authors: tuple[Identity, ...]
    now: datetime


def _deal(
    rng: random.Random, total: int, shares: list[tuple[CatalogKind | None, float]]
) -> list[CatalogKind | None]:
    """Exactly ``round(share * total)`` of each kind (largest remainder), shuffled."""
    exact = [share * total for _, share in shares]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: exact[i] - counts[i], reverse=True)
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    dealt = [kind for (kind, _), count in zip(shares, counts, strict=True) for _ in range(count)]
    rng.shuffle(dealt)
    return dealt


def _pick(rng: random.Random, total: int, fraction: float) -> set[int]:
    return set(rng.sample(range(total), round(fraction * total)))


def _names(rng: random.Random, pool: list[str], count: int) -> list[str]:
    """``count`` distinct names: the pool shuffled, then numbered repeats."""
    shuffled = pool[:]
    rng.shuffle(shuffled)
    return [
        shuffled[i % len(shuffled)] + (f" {i // len(shuffled) + 1}" if i >= len(shuffled) else "")
        for i in range(count)
    ]


def _organization_names(rng: random.Random, count: int, taken: Collection[str]) -> list[str]:
    """``count`` organization names, none of them in ``taken`` (any case)."""
    pool = list(_ORGANIZATIONS)
    rng.shuffle(pool)
    reserved = {name.lower() for name in taken}
    names: list[str] = []
    round_number = 1
    while len(names) < count:
        for base in pool:
            name = base if round_number == 1 else f"{base}-{round_number}"
            if name not in reserved and len(names) < count:
                names.append(name)
        round_number += 1
    return names


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _newest_commit_age(rng: random.Random) -> float:
    """Days since the newest commit, drawn from the freshness mix."""
    roll = rng.random()
    for share, low, high in _FRESHNESS:
        if roll < share:
            return rng.uniform(low, high)
        roll -= share
    return rng.uniform(*_FRESHNESS[-1][1:])


# Built on first use and kept: a sync reads each repository several times, a benchmark syncs
# the same estate again, and building (git ids for every tree and commit) is the emulator's
# main cost per repository. Sized for the largest estates the benchmarks generate.
@functools.lru_cache(maxsize=16384)
def _build_history(recipe: _Recipe) -> History:
    rng = random.Random(recipe.seed)
    facts = Facts.draw(rng, recipe.project, recipe.repository)
    language, extension = _LANGUAGES[recipe.language]
    readme = f"# {facts.title}\n\n{facts.title} of the {recipe.project} domain.\n"
    files = {
        "/README.md": readme.encode(),
        f"/src/main{extension}": f"// {facts.title} ({language})\n".encode(),
    }
    if recipe.kind is CatalogKind.VALID:
        files["/catalog-info.yaml"] = valid_file(facts).encode()
    elif recipe.kind is CatalogKind.INVALID:
        files["/catalog-info.yaml"] = invalid_file(facts, recipe.mistake).encode()
    elif recipe.kind is CatalogKind.MULTI_ENTITY:
        files["/catalog-info.yaml"] = multi_entity_file(facts, rng).encode()
    moment = recipe.now - timedelta(days=_newest_commit_age(rng))
    dates = [moment]
    for _ in range(rng.randint(0, 5)):
        moment -= timedelta(days=rng.uniform(1, 45), seconds=rng.randrange(86400))
        dates.append(moment)
    authored = []
    for index, date in enumerate(reversed(dates)):
        author = rng.choice(recipe.authors)
        message = "Initial commit" if index == 0 else rng.choice(_MESSAGES)
        authored.append(
            (Signature(author.display_name, author.email, date.replace(microsecond=0)), message)
        )
    return linear_history(files, authored, branch=recipe.branch)


def _members(rng: random.Random, organization: str, count: int, now: datetime) -> list[Member]:
    members = []
    for index in range(count):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        email = f"{first}.{last}.{index}@{organization}.example".lower()
        license_name = "Stakeholder" if rng.random() < 0.15 else "Basic"
        seen = now - timedelta(days=rng.uniform(0, 120))
        members.append(Member(Identity.of(f"{first} {last}", email), license_name, seen))
    return members


def generate_organizations(
    spec: GenerationSpec, *, taken: Collection[str] = ()
) -> list[Organization]:
    """The organizations ``spec`` describes, named apart from the names in ``taken``."""
    spec.check()
    rng = random.Random(spec.seed)
    now = spec.now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    total = spec.total
    non_valid = [
        (CatalogKind.INVALID, spec.invalid),
        (CatalogKind.MULTI_ENTITY, spec.multi_entity),
        (CatalogKind.MISSING, spec.missing),
        (None, spec.empty),  # None: an empty repository
    ]
    valid_share = 1 - sum(share for _, share in non_valid)
    kinds = _deal(rng, total, [(CatalogKind.VALID, valid_share), *non_valid])
    disabled, forks, spaced = (
        _pick(rng, total, f) for f in (spec.disabled, spec.fork, spec.spaces)
    )
    project_pool = [f"{d} {q}".strip() for d in _DOMAINS for q in _QUALIFIERS]
    organizations = []
    index = 0
    for org_name in _organization_names(rng, spec.organizations, taken):
        organization = Organization(_uuid(rng), org_name)
        organization.members = _members(rng, org_name, spec.members_per_organization, now)
        authors = tuple(member.identity for member in organization.members)
        for project_name in _names(rng, project_pool, spec.projects_per_organization):
            project = Project(
                _uuid(rng),
                project_name,
                organization,
                description=f"Everything about {project_name.lower()}.",
                revision=rng.randint(5, 400),
                last_update_time=now - timedelta(days=rng.uniform(0, 400)),
            )
            organization.add_project(project)
            project.teams.append(_default_team(project, authors, len(organization.projects)))
            prefix = project_name.split(" ")[0].lower()
            for component in _names(rng, list(_COMPONENTS), spec.repositories_per_project):
                name = f"{prefix}-{component.replace(' ', '-')}"
                if index in spaced:
                    name = f"{prefix.capitalize()} {component.capitalize()}"
                project.add_repository(
                    _repository(
                        rng,
                        project,
                        name,
                        kind=kinds[index],
                        disabled=index in disabled,
                        fork=index in forks,
                        now=now,
                        authors=authors,
                    )
                )
                index += 1
        organizations.append(organization)
    return organizations


def _default_team(project: Project, authors: tuple[Identity, ...], number: int) -> Team:
    """The project's default team: three members picked without the random generator,
    so that adding teams left every other generated value as it was."""
    members = tuple(dict.fromkeys(authors[(number * 3 + k) % len(authors)] for k in range(3)))
    name = project.default_team_name
    return Team(
        team_id(project.id, name),
        name,
        "The default project team.",
        members,
        frozenset({members[0].id}),
    )


def _repository(
    rng: random.Random,
    project: Project,
    name: str,
    *,
    kind: CatalogKind | None,
    disabled: bool,
    fork: bool,
    now: datetime,
    authors: tuple[Identity, ...],
) -> Repository:
    repo_id = _uuid(rng)
    if kind is None:
        return Repository(repo_id, name, project, None, 0, is_disabled=disabled, is_fork=fork)
    language = rng.randrange(len(_LANGUAGES))
    size = int(10 ** rng.uniform(4, 7.5))
    team = tuple(rng.sample(authors, min(len(authors), rng.randint(1, 4))))
    recipe = _Recipe(
        seed=rng.getrandbits(64),
        kind=kind,
        mistake=rng.choice(list(Mistake)),
        project=project.name,
        repository=name,
        branch="main" if rng.random() < 0.9 else "master",
        language=language,
        authors=team,
        now=now,
    )
    main_bytes = int(size * rng.uniform(0.3, 0.8))
    languages = (
        LanguageShare(_LANGUAGES[language][0], max(1, main_bytes // 6000), main_bytes),
        LanguageShare("YAML", rng.randint(1, 12), rng.randint(400, 20000)),
    )
    return Repository(
        repo_id,
        name,
        project,
        recipe.branch,
        size,
        is_disabled=disabled,
        is_fork=fork,
        languages=languages,
        recipe=functools.partial(_build_history, recipe),
    )


def default_token() -> Token:
    """A full-access token (value :data:`DEFAULT_TOKEN_VALUE`) for generated estates."""
    identity = Identity.of("Emulator Administrator", "administrator@emulator.example")
    return Token("default", DEFAULT_TOKEN_VALUE, identity, SCOPES)


def generate_estate(spec: GenerationSpec, tokens: list[Token] | None = None) -> Estate:
    """A generated estate; without ``tokens`` it accepts :func:`default_token`."""
    return Estate(generate_organizations(spec), tokens or [default_token()])
