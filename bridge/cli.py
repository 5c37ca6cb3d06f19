"""The command line: parses options and calls the library. Nothing else lives here."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, cast

import typer

from bridge import __version__
from bridge.errors import (
    EXIT_CODE_MEANINGS,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_SHRUNK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    BridgeError,
    OutputClosedError,
    Terminated,
    UsageError,
    exit_code_for,
    leading_error,
)

if TYPE_CHECKING:
    from bridge.nightly.publish import NightlyOptions


def _exit_codes(*codes: int) -> str:
    """A help epilog listing ``codes`` (all when none) with the README's wording."""
    return "**Exit codes:**\n\n" + "\n".join(
        f"* {code}: {meaning}" for code, meaning in EXIT_CODE_MEANINGS if not codes or code in codes
    )


app = typer.Typer(
    name="catalog-bridge",
    help="Keep a Backstage catalog and an Azure DevOps estate in step.",
    epilog=_exit_codes(),
    no_args_is_help=True,
    # --install-completion / --show-completion; costs nothing measurable at start (shellingham
    # is imported by typer either way).
    add_completion=True,
    pretty_exceptions_enable=False,
    # Docstrings are wrapped at 100 columns; markdown mode joins their lines again.
    rich_markup_mode="markdown",
)


def _examples(*commands: str, exit_codes: tuple[int, ...] = ()) -> str:
    """A help epilog listing example command lines, then the exit codes."""
    examples = "\n".join(f"* `{command}`" for command in commands)
    return f"**Examples:**\n\n{examples}\n\n{_exit_codes(*exit_codes)}"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"catalog-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Keep a Backstage catalog and an Azure DevOps estate in step."""


class OutputFormat(StrEnum):
    """Output formats of ``validate``."""

    text = "text"
    json = "json"
    github = "github"
    azure = "azure"


@app.command(
    epilog=_examples(
        "catalog-bridge validate catalog-info.yaml",
        "catalog-bridge validate --format json catalogs/",
        "cat catalog-info.yaml | catalog-bridge validate -",
        exit_codes=(EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE),
    ),
)
def validate(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Catalog files, folders (searched recursively for catalog files) or - for stdin."
        ),
    ],
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="text (default), json (one object per document), github or azure annotations. "
            "Defaults to github/azure when GITHUB_ACTIONS/TF_BUILD are set.",
        ),
    ] = None,
    glob: Annotated[
        list[str] | None,
        typer.Option(
            help="File names to pick up in folders (repeatable; default catalog-info.yaml and "
            "catalog-info.yml; '**/' spans folders)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Treat lint warnings (tool compatibility) as errors.")
    ] = False,
    strict_placeholders: Annotated[
        bool,
        typer.Option(help="Placeholders that cannot be read from local files are errors."),
    ] = False,
    catalog_rules: Annotated[
        bool,
        typer.Option(
            help="Lint kinds the default catalog.rules refuse from a registered location "
            "(only Component, API and Location are allowed)."
        ),
    ] = False,
    relations: Annotated[
        bool, typer.Option(help="Parse entity references in relation fields.")
    ] = True,
    template_kind: Annotated[
        bool, typer.Option(help="Accept scaffolder Template entities (scaffolder installed).")
    ] = True,
    max_bytes: Annotated[
        int, typer.Option(min=1, help="Refuse files larger than this many bytes.")
    ] = 1 << 20,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes for large runs (default: all cores)."),
    ] = None,
) -> None:
    """Validate catalog files exactly as Backstage would, plus tool-compatibility lint."""
    from bridge.catalog.runner import run_validation
    from bridge.catalog.validation import ValidationOptions

    options = ValidationOptions(
        relations=relations,
        template_kind=template_kind,
        strict_placeholders=strict_placeholders,
        catalog_rules=catalog_rules,
        strict=strict,
        max_bytes=max_bytes,
    )
    raise typer.Exit(
        run_validation(
            paths,
            options,
            stream=sys.stdout,
            environ=os.environ,
            output_format=output_format.value if output_format else None,
            globs=glob or (),
            jobs=jobs,
        )
    )


@app.command(
    epilog=_examples(
        "catalog-bridge catalog catalog-info.yaml",
        "catalog-bridge catalog all.yaml --repo ../catalog --ref main --format json",
        "catalog-bridge catalog catalog-info.yaml --ref : --rules Component,API,Location,Group",
        "catalog-bridge catalog catalog-info.yaml --staged --strict   # the pre-commit hook",
        exit_codes=(EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE),
    ),
)
def catalog(
    root: Annotated[
        str | None,
        typer.Argument(
            help="The root Location file, relative to the repository (or folder); default "
            "with --profile: its backstage.catalog root."
        ),
    ] = None,
    repo: Annotated[
        str | None,
        typer.Option(help="A local repository or folder, or a remote repository URL."),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(help="Read the git tree at this branch, tag or commit (':' = the index)."),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged",
            help="Read the staged index of the repository here (or --repo): what a commit "
            "would record. Same as --repo . --ref :",
        ),
    ] = False,
    rules: Annotated[
        str | None,
        typer.Option(
            help="catalog.rules: the kinds Locations may bring in, comma-separated "
            "(Kind=type also matches spec.type). Default: Component,API,Location."
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="text (default), json (NDJSON lines as the processing oracle prints them), "
            "github or azure annotations.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Dangling references, orphan files and lint are errors.")
    ] = False,
    local_placeholders: Annotated[
        bool,
        typer.Option(
            help="Resolve relative $text/$json/$yaml from the tree (Backstage fails them in "
            "file locations; url locations resolve them)."
        ),
    ] = False,
    token_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the token for a remote --repo."),
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(
            help="Keep each file's validation in the git folder (by blob id) to re-check "
            "unchanged files for free (git trees only)."
        ),
    ] = True,
    config: ConfigOption = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Process this profile's backstage.catalog repository (its root, ref, rules "
            "and token); the options above override them."
        ),
    ] = None,
) -> None:
    """Process a whole catalog from its root Location as a fresh Backstage catalog would."""
    from bridge.catalog.processing.model import ProcessingOptions
    from bridge.catalog.processing.rules import DEFAULT_RULES, parse_rules
    from bridge.catalog.processing.runner import CatalogTarget, profile_target, run_catalog

    given = CatalogTarget(repo, ref, root, parse_rules(rules) if rules is not None else None)
    target = given.over(profile_target(config, profile, os.environ)) if profile else given
    if target.root is None:
        raise UsageError("give the root Location file (or --profile with a backstage.catalog)")
    options = ProcessingOptions(
        rules=target.rules or DEFAULT_RULES,
        local_placeholders=local_placeholders,
        cache=cache,
    )
    raise typer.Exit(
        run_catalog(
            target.root,
            options,
            repo=target.repo,
            ref=target.ref,
            target=target,
            stream=sys.stdout,
            environ=os.environ,
            output_format=output_format.value if output_format else None,
            strict=strict,
            token_env=token_env,
            index=staged,
        )
    )


VerboseOption = typer.Option(
    "--verbose",
    "-v",
    help="Log every Azure DevOps request on standard error: method, URL, HTTP status, "
    "milliseconds, and each retry (tokens never appear).",
)

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $CATALOG_BRIDGE_CONFIG, else ./catalog-bridge.yaml).",
    ),
]


class ChangeReportFormat(StrEnum):
    """Formats of the change report."""

    md = "md"
    json = "json"


PreviousOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="The previous run's output to compare with and keep stale entities from "
        "(default: the --output file being replaced).",
    ),
]
ReportOption = Annotated[
    str | None,
    typer.Option(metavar="FILE", help="Write the change report (vs the previous run) here."),
]
ReportFormatOption = Annotated[
    ChangeReportFormat,
    typer.Option(help="md (for the pipeline summary tab) or json."),
]
JunitOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="Write a JUnit file: a test case per repository's catalog check, a suite per "
        "organization (PublishTestResults@2).",
    ),
]
AnnotateOption = Annotated[
    bool,
    typer.Option(
        help="Print Azure Pipelines logging commands on standard output: failures and new "
        "problems as annotations, the Markdown report in the summary tab, SucceededWithIssues "
        "when organizations failed."
    ),
]
MaxShrinkOption = Annotated[
    str | None,
    typer.Option(
        metavar="SHARE",
        help="Keep the previous output when the new one has fewer entities by more than "
        "this share, e.g. 10% (exit 6).",
    ),
]
AcceptShrinkOption = Annotated[
    bool, typer.Option(help="Publish the output even when --max-shrink would refuse it.")
]
FailOnOption = Annotated[
    str | None,
    typer.Option(
        metavar="CONDITIONS",
        help="Exit 1 only for these (comma-separated): org-failed, unreadable, new-invalid, "
        "new-problems, owner-removed, context-changed, removed; or none (default: "
        "org-failed,unreadable). The rest is reported.",
    ),
]
RunStartedOption = Annotated[
    str | None,
    typer.Option(
        metavar="TIMESTAMP",
        help="The synced_at of entities that changed (ISO 8601; default: now). Shards of one "
        "pipeline run pass the same moment.",
    ),
]


def _nightly(
    *,
    previous: str | None,
    report: str | None,
    report_format: ChangeReportFormat,
    junit: str | None,
    annotate: bool,
    max_shrink: str | None,
    accept_shrink: bool,
    fail_on: str | None,
    run_started: str | None = None,
) -> NightlyOptions:
    """The nightly options of sync and merge, parsed (by keyword: nine values of four types,
    where a swapped pair would still type-check; merge has no --run-started)."""
    from datetime import datetime

    from bridge.nightly.guards import parse_fail_on, parse_share
    from bridge.nightly.publish import NightlyOptions

    started = None
    if run_started is not None:
        try:
            started = datetime.fromisoformat(run_started)
        except ValueError:
            raise UsageError(f"--run-started {run_started!r}: expected an ISO 8601 time") from None
        if started.tzinfo is None:
            raise UsageError(f"--run-started {run_started!r}: give a time zone (Z for UTC)")
    return NightlyOptions(
        previous=previous,
        report=report,
        report_format=report_format.value,
        junit=junit,
        annotate=annotate,
        max_shrink=None if max_shrink is None else parse_share(max_shrink),
        accept_shrink=accept_shrink,
        fail_on=None if fail_on is None else parse_fail_on(fail_on),
        started=started,
    )


class SyncFormat(StrEnum):
    """Output formats of ``sync``."""

    ndjson = "ndjson"
    json = "json"
    yaml = "yaml"
    table = "table"


SyncFormatOption = Annotated[
    SyncFormat, typer.Option("--format", "-f", help="ndjson, json, yaml or table.")
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(min=1, max=64, help="Requests in flight per host and token (default 16)."),
]


@app.command(
    epilog=_examples(
        "catalog-bridge sync --output entities.ndjson",
        "catalog-bridge sync --profile contoso --org fabrikam --format table",
    ),
)
def sync(
    config: ConfigOption = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(help="Sync only this profile (repeatable; default: every profile)."),
    ] = None,
    org: Annotated[
        list[str] | None,
        typer.Option(help="Sync only this organization (repeatable; default: all of them)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the entities here (default: standard output). Files are replaced "
            "atomically, in a stable order, under a lock; ndjson to standard output streams.",
        ),
    ] = None,
    output_format: SyncFormatOption = SyncFormat.ndjson,
    concurrency: ConcurrencyOption = None,
    developers: Annotated[
        int | None,
        typer.Option(
            min=0,
            metavar="DAYS",
            help="Collect committers of the last DAYS days (one more request per repository; "
            "default: the profile's developers_days, 0 = off).",
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            help="Show a progress bar on standard error (default: when it is a terminal, "
            "unless --quiet or --verbose)."
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress bar, and the summary only when the run did not succeed.",
        ),
    ] = False,
    verbose: Annotated[bool, VerboseOption] = False,
    state: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="Keep the state of runs in this SQLite file (default: the configuration's "
            "state.path, else none) and read only what changed since the last run.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(help="With a state: read everything again (a full refresh)."),
    ] = False,
    previous: PreviousOption = None,
    report: ReportOption = None,
    report_format: ReportFormatOption = ChangeReportFormat.md,
    junit: JunitOption = None,
    annotate: AnnotateOption = False,
    max_shrink: MaxShrinkOption = None,
    accept_shrink: AcceptShrinkOption = False,
    fail_on: FailOnOption = None,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="I/N",
            help="Sync only shard I of N: a stable share of the organizations (and of the "
            "projects of each --split-org); merge the shards with catalog-bridge merge.",
        ),
    ] = None,
    split_org: Annotated[
        list[str] | None,
        typer.Option(
            help="With --shard: share this organization's projects among the shards instead "
            "of giving it whole to one (repeatable; for an organization too big for one job)."
        ),
    ] = None,
    run_started: RunStartedOption = None,
) -> None:
    """Pull every repository of the configured Azure DevOps organizations, read and validate
    their catalog files, and write repository entities with Backstage application context."""
    from bridge.sync.command import sync_command
    from bridge.sync.engine import SyncOptions
    from bridge.terminal import progress_wanted

    if quiet and verbose:
        raise UsageError("--quiet and --verbose cannot be combined")
    if progress is None:
        progress = progress_wanted(sys.stderr, os.environ) and not (quiet or verbose)
    from bridge.nightly.shard import parse_shard

    if split_org and shard is None:
        raise UsageError("--split-org applies with --shard only")
    options = SyncOptions(
        organizations=frozenset(org or ()),
        concurrency=concurrency,
        developers_days=developers,
        shard=parse_shard(shard, split_org or ()) if shard else None,
    )
    raise typer.Exit(
        sync_command(
            config_file=config,
            profiles=profile or (),
            options=options,
            output=output,
            output_format=output_format.value,
            environ=os.environ,
            stderr=sys.stderr,
            progress=progress,
            quiet=quiet,
            verbose=verbose,
            state=state,
            full=full,
            nightly=_nightly(
                previous=previous,
                report=report,
                report_format=report_format,
                junit=junit,
                annotate=annotate,
                max_shrink=max_shrink,
                accept_shrink=accept_shrink,
                fail_on=fail_on,
                run_started=run_started,
            ),
        )
    )


@app.command(
    epilog=_examples(
        "catalog-bridge merge shard-*.ndjson --output entities.ndjson --report report.md",
        exit_codes=(EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_SHRUNK),
    ),
)
def merge(
    outputs: Annotated[
        list[str], typer.Argument(help="The outputs of every `sync --shard I/N` job.")
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Write the merged entities here.")],
    output_format: SyncFormatOption = SyncFormat.ndjson,
    previous: PreviousOption = None,
    report: ReportOption = None,
    report_format: ReportFormatOption = ChangeReportFormat.md,
    junit: JunitOption = None,
    annotate: AnnotateOption = False,
    max_shrink: MaxShrinkOption = None,
    accept_shrink: AcceptShrinkOption = False,
    fail_on: FailOnOption = None,
) -> None:
    """Join the outputs of `sync --shard I/N` jobs into one, refusing overlaps and gaps: the
    same bytes one job would have written, with one change report for the whole estate."""
    from bridge.nightly.merge import merge_command

    raise typer.Exit(
        merge_command(
            outputs,
            output=output,
            output_format=output_format.value,
            options=_nightly(
                previous=previous,
                report=report,
                report_format=report_format,
                junit=junit,
                annotate=annotate,
                max_shrink=max_shrink,
                accept_shrink=accept_shrink,
                fail_on=fail_on,
            ),
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    )


@app.command(
    epilog=_examples(
        "catalog-bridge propose",
        "catalog-bridge propose --apply --limit 20 --reviewer 0d9c1f2e-... --label backstage",
        "catalog-bridge propose --fix --apply",
    )
)
def propose(
    config: ConfigOption = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(help="Only this profile (repeatable; default: every profile with propose)."),
    ] = None,
    org: Annotated[
        list[str] | None, typer.Option(help="Only this organization (repeatable).")
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Push the branches and open the pull requests (default: "
            "a dry run that prints each diff and what it would do).",
        ),
    ] = False,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Also propose safe automatic fixes of existing catalog files."),
    ] = False,
    reopen: Annotated[
        bool, typer.Option("--reopen", help="Reactivate abandoned pull requests.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=0, help="Open at most this many new pull requests.")
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option(
            help="The branch to push (default: the profile's, else catalog-bridge/catalog-info)."
        ),
    ] = None,
    draft: Annotated[
        bool | None, typer.Option("--draft/--no-draft", help="Open draft pull requests.")
    ] = None,
    reviewer: Annotated[
        list[str] | None,
        typer.Option(help="A reviewer's Azure DevOps identity id (repeatable)."),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option(help="A pull request label (repeatable).")
    ] = None,
    verbose: Annotated[bool, VerboseOption] = False,
) -> None:
    """Propose the missing catalog files (and, with --fix, safe fixes) as one pull request
    per repository; idempotent: a second run opens nothing new."""
    from bridge.propose.command import ProposeRequest, propose_command

    request = ProposeRequest(
        apply=apply,
        fix=fix,
        reopen=reopen,
        limit=limit,
        branch=branch,
        draft=draft,
        reviewers=tuple(reviewer or ()),
        labels=tuple(label or ()),
        organizations=frozenset(org or ()),
    )
    raise typer.Exit(
        propose_command(
            config_file=config,
            profiles=profile or (),
            request=request,
            environ=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
            verbose=verbose,
        )
    )


class ReportFormat(StrEnum):
    """Formats of the ``generate`` provenance report."""

    text = "text"
    json = "json"


@app.command(
    epilog=_examples(
        "catalog-bridge generate --output catalogs/",
        "catalog-bridge generate --org fabrikam --into ../catalogs --commit-branch add-catalogs",
        "catalog-bridge generate --output catalogs/ --report-format json | jq .skipped",
    ),
)
def generate(
    config: ConfigOption = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(help="Use only this profile (repeatable; default: every profile)."),
    ] = None,
    org: Annotated[
        list[str] | None,
        typer.Option(help="Only this organization (repeatable; default: all of them)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Write a new monorepo of catalogs here: "
            "`DIR/<org>/<project>/<name>/catalog-info.yaml` and `DIR/catalog-info.yaml`, "
            "a Location reaching them all.",
        ),
    ] = None,
    into: Annotated[
        Path | None,
        typer.Option(
            help="Add the files to this existing monorepo of catalogs (a git working tree) "
            "and list them in its Location file; other files stay byte-identical.",
        ),
    ] = None,
    location: Annotated[
        str,
        typer.Option(help="With --into: the Location file, relative to CATALOG_REPO."),
    ] = "catalog-info.yaml",
    commit_branch: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="With --into: commit the changes on a new branch."),
    ] = None,
    report_format: Annotated[
        ReportFormat, typer.Option(help="The provenance report: text or json.")
    ] = ReportFormat.text,
    concurrency: ConcurrencyOption = None,
    verbose: Annotated[bool, VerboseOption] = False,
) -> None:
    """Generate a valid catalog file for every repository without one, from templates, and
    print where each value came from."""
    from bridge.generate.command import generate_command
    from bridge.sync.engine import SyncOptions

    raise typer.Exit(
        generate_command(
            config_file=config,
            profiles=profile or (),
            options=SyncOptions(organizations=frozenset(org or ()), concurrency=concurrency),
            output=output,
            into=into,
            location=location,
            commit_branch=commit_branch,
            report_format=report_format.value,
            environ=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
            verbose=verbose,
        )
    )


class DoctorFormat(StrEnum):
    """Output formats of ``doctor``."""

    table = "table"
    json = "json"


@app.command(epilog=_examples("catalog-bridge doctor", "catalog-bridge doctor --format json"))
def doctor(
    config: ConfigOption = None,
    profile: Annotated[
        list[str] | None, typer.Option(help="Check only this profile (repeatable).")
    ] = None,
    org: Annotated[
        list[str] | None, typer.Option(help="Check only this organization (repeatable).")
    ] = None,
    output_format: Annotated[
        DoctorFormat, typer.Option("--format", "-f", help="table (for people) or json.")
    ] = DoctorFormat.table,
    verbose: Annotated[bool, VerboseOption] = False,
) -> None:
    """Check each profile and organization: API reachable and its version, token valid, every
    PAT scope the tool needs (Code, Project and Team, Member Entitlement Management and
    Analytics, all read), and the broker when one is configured; with a fix per failure."""
    from bridge.doctor import doctor_command

    raise typer.Exit(
        doctor_command(
            config_file=config,
            profiles=profile or (),
            organizations=org or (),
            output_format=output_format.value,
            environ=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
            verbose=verbose,
        )
    )


state_app = typer.Typer(
    help="The state file of nightly runs (`sync --state PATH`): runs, history, pruning.",
    no_args_is_help=True,
)
app.add_typer(state_app, name="state")
StateOption = Annotated[
    str | None,
    typer.Option(
        "--state", metavar="PATH", help="State file (default: the configuration's state.path)."
    ),
]


@state_app.command(
    "runs", epilog=_examples("catalog-bridge state runs --state nightly.db --limit 5")
)
def state_runs(
    state: StateOption = None,
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
) -> None:
    """List the recorded runs: start, full or incremental, duration, requests, counts,
    failures; a run that never finished (killed) says so."""
    from bridge.state.command import runs_command, state_path

    path = state_path(state, config, os.environ)
    raise typer.Exit(runs_command(path, limit=limit, out=sys.stdout))


@state_app.command(
    "show", epilog=_examples("catalog-bridge state show contoso/Payments/payments-api")
)
def state_show(
    repository: Annotated[
        str,
        typer.Argument(
            help="A repository: profile/organization/id, its id, organization/project/name "
            "or its name."
        ),
    ],
    state: StateOption = None,
    config: ConfigOption = None,
) -> None:
    """Show one repository's history: its entity after each run that changed it."""
    from bridge.state.command import show_command, state_path

    path = state_path(state, config, os.environ)
    raise typer.Exit(show_command(path, repository, out=sys.stdout))


@state_app.command("prune", epilog=_examples("catalog-bridge state prune --keep-days 30"))
def state_prune(
    keep_days: Annotated[int, typer.Option(min=0, help="Keep the runs of the last N days.")],
    state: StateOption = None,
    config: ConfigOption = None,
) -> None:
    """Forget runs older than N days and their history; the last run and every
    repository's last entity are kept."""
    from bridge.state.command import prune_command, state_path

    path = state_path(state, config, os.environ)
    raise typer.Exit(prune_command(path, keep_days=keep_days, out=sys.stdout))


@app.command(epilog=_examples("catalog-bridge demo --output demo.ndjson"))
def demo(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the entities (NDJSON).")
    ] = "demo-entities.ndjson",
) -> None:
    """Run a real sync against the bundled Azure DevOps emulator and its sample estate (two
    organizations, a few dozen repositories with every kind of catalog file), over loopback."""
    from bridge.sync.command import demo_command
    from bridge.terminal import progress_wanted

    progress = progress_wanted(sys.stderr, os.environ)
    raise typer.Exit(demo_command(output=output, stderr=sys.stderr, progress=progress))


@app.command(
    epilog=_examples(
        "catalog-bridge init && $EDITOR catalog-bridge.yaml",
        "catalog-bridge init --pipeline catalog-bridge-nightly.yml",
    )
)
def init(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
    pipeline: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Write the nightly Azure Pipelines template to FILE instead (e.g. "
            "catalog-bridge-nightly.yml).",
        ),
    ] = None,
) -> None:
    """Write a commented starter configuration file, or with --pipeline the nightly job's
    Azure Pipelines template."""
    if pipeline is not None:
        from bridge.nightly.pipeline import write_pipeline

        written = write_pipeline(pipeline, force=force)
        typer.echo(f"Wrote {written}; commit it beside catalog-bridge.yaml and create a pipeline.")
        return
    from bridge.config import config_path, write_starter

    written = write_starter(config_path(config, os.environ), force=force)
    typer.echo(f"Wrote {written}; set the token variable it names, then run catalog-bridge doctor.")


@app.command(
    epilog=_examples(
        "catalog-bridge emulator",
        "catalog-bridge emulator --estate estate.yaml --port 8080 --tls",
        "catalog-bridge emulator --faults server_error_rate=0.1,seed=7 --latency 25",
    ),
)
def emulator(
    estate: Annotated[
        str | None,
        typer.Option(help="Estate file (YAML); default: the bundled sample estate."),
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    tls: Annotated[
        bool, typer.Option(help="Serve HTTPS with a throw-away certificate (needs trustme).")
    ] = False,
    faults: Annotated[
        str | None,
        typer.Option(
            metavar="KEY=NUMBER,...",
            help="Inject faults, e.g. server_error_rate=0.1,reset_rate=0.02,seed=7 (the keys "
            "of the estate file's options.faults; these win over the file).",
        ),
    ] = None,
    latency: Annotated[
        float | None,
        typer.Option(min=0, metavar="MS", help="Delay every answer by MS milliseconds."),
    ] = None,
) -> None:
    """Serve an emulated Azure DevOps estate over HTTP(S) until interrupted; the first line
    printed is its base URL (point a profile's api_url, Backstage or scripts at it), then
    the tokens it accepts."""
    from bridge.emulator import sample_estate_path, serve_forever

    serve_forever(
        estate or sample_estate_path(),
        host=host,
        port=port,
        tls=tls,
        faults=faults,
        latency_ms=latency,
    )


def main() -> None:
    """Console-script entry point: run the app, turning errors into messages and exit codes."""
    # SIGTERM (CI cancellation, `docker stop`) stops the run as Ctrl-C does: outputs aborted,
    # temporary files removed. An event loop replaces this handler while it runs (the sync
    # cancels its task, the emulator stops serving): raising inside the loop is not safe.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
    except BaseException as error:
        code = report_failure(error)
    else:
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this code
            sys.stderr.write("interrupted\n")
    sys.exit(code if isinstance(code, int) else 0)


def report_failure(error: BaseException) -> int:
    """Print the message for an error that ended a command and return its exit code (what
    ``python -m bridge``'s short path for the hook uses too).

    Re-raises what is not a user's to see: a bug when CATALOG_BRIDGE_DEBUG is set (for a
    traceback), and SystemExit.
    """
    code = _exit_code(error)
    if code is None:
        raise error
    if code == EXIT_INTERRUPTED:
        sys.stderr.write("interrupted\n")
    return code


def _exit_code(error: BaseException) -> int | None:
    """The exit code for ``error``, once the user is told; None: let it propagate."""
    if isinstance(error, BaseExceptionGroup):
        # Task groups wrap what their tasks raised: report the error that matters.
        error = leading_error(error)
    if isinstance(error, typer.Exit):
        return error.exit_code
    if isinstance(error, Terminated):
        sys.stderr.write("terminated\n")
        return EXIT_TERMINATED
    if isinstance(error, typer.Abort | KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, BridgeError):
        return _report(error)
    if isinstance(error, _click_exception()):
        # Click's usage errors (bad option, missing argument): printed as click would.
        shown = cast(_ShownError, error)
        shown.show()
        return shown.exit_code
    if isinstance(error, Exception) and not os.environ.get("CATALOG_BRIDGE_DEBUG"):
        sys.stderr.write(
            f"catalog-bridge: internal error: {type(error).__name__}: {error}\n"
            "Set CATALOG_BRIDGE_DEBUG=1 for a traceback, and please report it.\n"
        )
        return EXIT_INTERNAL
    return None  # SystemExit, or a bug to show with its traceback


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _report(error: BridgeError) -> int:
    """Print ``error`` and return its exit code."""
    if isinstance(error, OutputClosedError):
        # The reader has what it wanted (`| head`): end quietly, as other tools do. Python's
        # final flush of standard output would fail again: point it at nothing.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        sys.stderr.write(f"catalog-bridge: error: {error}\n")
    return exit_code_for(error)


class _ShownError(Protocol):
    """What click's exceptions offer: a message printer and an exit code."""

    exit_code: int

    def show(self) -> None: ...


def _click_exception() -> type[Exception]:
    """Click's ``ClickException``, found through typer's public ``BadParameter``.

    typer < 0.26 uses the ``click`` package, later versions a private copy of it: the
    class hierarchy of a public name is the one spelling both have.
    """
    return next(
        cls
        for cls in typer.BadParameter.__mro__
        if cls.__name__ == "ClickException" and issubclass(cls, Exception)
    )
