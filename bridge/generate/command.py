"""The ``generate`` command's flow: sync in memory, one teams request per project, the plan,
then the files written (``--output`` or ``--into``) and the provenance report printed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from bridge.azure import RequestStats
from bridge.azure.models import Team
from bridge.config import Config, Profile, load_config
from bridge.errors import EXIT_OK, EXIT_PROBLEMS, BridgeError, UsageError
from bridge.generate.plan import (
    GeneratedFile,
    GenerationPlan,
    Skipped,
    generation_plan,
)
from bridge.generate.report import render_json, render_text
from bridge.generate.writer import IntoResult, check_replaceable, write_into, write_output
from bridge.gitrepo import GitRepository
from bridge.sync.command import run_cancellable
from bridge.sync.engine import SyncOptions, SyncResult, synchronize
from bridge.sync.entity import MISSING_FILE
from bridge.sync.summary import render_summary
from bridge.terminal import request_log, write_notes

TeamsByProject = dict[tuple[str, str], list[Team]]


def bundled_templates() -> Path:
    """The templates shipped with catalog-bridge (in the wheel, or in a checkout)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise UsageError("the bundled templates are missing; set generate.templates in the profile")


@dataclass(frozen=True)
class TeamsNotRead:
    """A project whose teams could not be read (its repositories' owners may be missing)."""

    organization: str
    project: str
    detail: str

    @property
    def where(self) -> str:
        """``organization/project``."""
        return f"{self.organization}/{self.project}"

    @property
    def reason(self) -> str:
        """Why the project's teams are missing."""
        return f"teams not read: {self.detail}"


@dataclass
class Generation:
    """What a ``generate`` run read and planned."""

    sync: SyncResult
    plan: GenerationPlan
    team_failures: list[TeamsNotRead] = field(default_factory=list)


async def _teams(
    profile: Profile,
    entities: Sequence[Mapping[str, Any]],
    options: SyncOptions,
    stats: RequestStats,
) -> tuple[TeamsByProject, list[TeamsNotRead]]:
    """One teams request per project that has a repository without a catalog file and no
    owner configured (the only projects whose teams can matter)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entity in entities:
        project = entity["project"]
        if (
            entity["catalog"]["status"] == MISSING_FILE
            and project.lower() not in profile.generate.owners
        ):
            wanted[entity["organization"]].add(project)
    teams: TeamsByProject = {}
    failures: list[TeamsNotRead] = []
    for organization, projects in sorted(wanted.items()):
        client = profile.client(
            organization, concurrency=options.concurrency, retry=options.retry, stats=stats
        )
        async with client:
            answers = await asyncio.gather(
                *(client.teams(project) for project in sorted(projects)), return_exceptions=True
            )
        for project, answer in zip(sorted(projects), answers, strict=True):
            if isinstance(answer, BridgeError):
                failures.append(TeamsNotRead(organization, project, answer.detail()))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                teams[(organization, project)] = answer
    return teams, failures


async def plan_for_profile(
    profile: Profile,
    entities: Sequence[Mapping[str, Any]],
    options: SyncOptions,
    stats: RequestStats,
) -> tuple[GenerationPlan, list[TeamsNotRead]]:
    """The generation plan for one profile's synced ``entities``, reading the teams it needs
    (one request per project); also the projects whose teams could not be read."""
    teams, failures = await _teams(profile, entities, options, stats)
    settings = profile.generate
    plan = generation_plan(entities, teams, settings, settings.templates or bundled_templates())
    return plan, failures


async def _generate(config: Config, options: SyncOptions) -> Generation:
    entities: list[dict[str, Any]] = []
    sync = await synchronize(config.profiles, options, entities.append)
    files: list[GeneratedFile] = []
    skipped: list[Skipped] = []
    failures: list[TeamsNotRead] = []
    for profile in config.profiles:
        own = [entity for entity in entities if entity["profile"] == profile.name]
        plan, missed = await plan_for_profile(profile, own, options, sync.stats)
        failures += missed
        files += plan.files
        skipped += plan.skipped
    return Generation(sync, GenerationPlan(tuple(files), tuple(skipped)), failures)


def generate_command(
    *,
    config_file: str | None,
    profiles: Sequence[str],
    options: SyncOptions,
    output: Path | None,
    into: Path | None,
    location: str,
    commit_branch: str | None,
    report_format: str,
    environ: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    verbose: bool = False,
) -> int:
    """``catalog-bridge generate``: returns the exit code.

    0 when every repository without a catalog file got one; 1 when some could not (the
    report says why), the sync had failures, or ``--into`` found a different file in the
    way; a run that read nothing exits with the sync's code and writes nothing.
    """
    if (output is None) == (into is None):
        raise UsageError("give exactly one of --output DIR and --into CATALOG_REPO")
    if commit_branch is not None and into is None:
        raise UsageError("--commit-branch needs --into")
    if output is not None:
        check_replaceable(output.absolute())  # before the run, not after it
    config = load_config(config_file, environ=environ, profiles=profiles)
    options = replace(options, organizations=config.organization_filter(options.organizations))
    write_notes(config.notes, stderr)
    with request_log(stderr if verbose else None):
        generation = run_cancellable(_generate(config, options))
    sync = generation.sync
    if sync.synced_nothing:
        stderr.write(render_summary(sync))
        return sync.exit_code
    written: dict[str, str] = {}
    conflicts = False
    if output is not None:
        written = write_output(generation.plan.files, output)
    else:
        assert into is not None
        result = _into(generation.plan, into, location, commit_branch)
        written = {**result.added, **result.unchanged}
        conflicts = bool(result.conflicts)
        for path in sorted(result.conflicts.values()):
            stderr.write(f"{into / path}: exists with other content; left as it is\n")
        if result.commit:
            stderr.write(f"committed {result.commit[:12]} on {commit_branch}\n")
    render = render_json if report_format == "json" else render_text
    stdout.write(render(generation.plan, written))
    for failure in generation.team_failures:
        stderr.write(f"note: {failure.where}: {failure.reason}\n")
    if sync.exit_code != EXIT_OK:
        stderr.write(render_summary(sync))
    problems = bool(generation.plan.skipped) or conflicts
    return sync.exit_code or (EXIT_PROBLEMS if problems else EXIT_OK)


def _into(plan: GenerationPlan, catalog: Path, location: str, branch: str | None) -> IntoResult:
    repository = GitRepository(catalog) if branch is not None else None
    try:
        result = write_into(plan.files, catalog, location=location)
        if repository is not None and branch is not None and result.changed_paths:
            count = len(result.added)
            message = (
                f"Add {count} generated catalog file{'s' if count != 1 else ''}\n\n"
                "Generated by catalog-bridge generate; each file says which values to check."
            )
            paths = [str((catalog / path).absolute()) for path in result.changed_paths]
            result.commit = repository.commit_on_branch(branch, paths, message)
    finally:
        if repository is not None:
            repository.close()
    return result
