"""The command line: parses options and calls the library. Nothing else lives here."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Annotated

import typer

from bridge import __version__
from bridge.errors import EXIT_INTERRUPTED, BridgeError, exit_code_for

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 problems found (invalid catalog files, or a sync with failures); "
    "2 usage error; 3 configuration error; 4 token refused; 5 Azure DevOps or broker "
    "unavailable; 130 interrupted."
)

app = typer.Typer(
    name="catalog-bridge",
    help="Keep a Backstage catalog and an Azure DevOps estate in step.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Docstrings are wrapped at 100 columns; markdown mode joins their lines again.
    rich_markup_mode="markdown",
)


def _examples(*commands: str) -> str:
    """A help epilog listing example command lines."""
    return "**Examples:**\n\n" + "\n".join(f"* `{command}`" for command in commands)


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
    """Validate catalog files exactly as Backstage would, plus tool-compatibility lint.

    Exit codes: 0 all valid, 1 problems found, 2 usage error.
    """
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


ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $CATALOG_BRIDGE_CONFIG, else ./catalog-bridge.yaml).",
    ),
]


class SyncFormat(StrEnum):
    """Output formats of ``sync``."""

    ndjson = "ndjson"
    json = "json"
    yaml = "yaml"
    table = "table"


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
            help="Write the entities here (default: standard output). json, yaml and table "
            "files are replaced atomically; ndjson is written as entities arrive.",
        ),
    ] = None,
    output_format: Annotated[
        SyncFormat, typer.Option("--format", "-f", help="ndjson, json, yaml or table.")
    ] = SyncFormat.ndjson,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Requests in flight per host and token (default 16)."),
    ] = None,
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
        typer.Option(help="Show progress on standard error (default: when it is a terminal)."),
    ] = None,
) -> None:
    """Pull every repository of the configured Azure DevOps organizations, read and validate
    their catalog files, and write repository entities with Backstage application context.

    Exit codes: 0 everything synced; 1 finished with failures (an organization, project or
    catalog file could not be read); 3 configuration error; 4 every organization refused the
    token; 5 Azure DevOps or the broker unreachable.
    """
    from bridge.sync.command import sync_command
    from bridge.sync.engine import SyncOptions

    options = SyncOptions(
        organizations=frozenset(org or ()),
        concurrency=concurrency,
        developers_days=developers,
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
            progress=sys.stderr.isatty() if progress is None else progress,
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
) -> None:
    """Check each profile and organization: API reachable and its version, token valid, every
    PAT scope the tool needs (Code, Project and Team, Member Entitlement Management and
    Analytics, all read), and the broker when one is configured; with a fix per failure.

    Exit codes: 0 all needed checks passed; 1 some failed; 3 configuration error; 4 a token
    was refused; 5 Azure DevOps or the broker unreachable.
    """
    from bridge.doctor import doctor_command

    raise typer.Exit(
        doctor_command(
            config_file=config,
            profiles=profile or (),
            organizations=org or (),
            output_format=output_format.value,
            environ=os.environ,
            stdout=sys.stdout,
            color=sys.stdout.isatty(),
        )
    )


@app.command(epilog=_examples("catalog-bridge demo --output demo.ndjson"))
def demo(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the entities (NDJSON).")
    ] = "demo-entities.ndjson",
) -> None:
    """Run a real sync against the bundled Azure DevOps emulator and its sample estate (two
    organizations, a few dozen repositories with every kind of catalog file), over loopback."""
    from bridge.sync.command import demo_command

    raise typer.Exit(demo_command(output=output, stderr=sys.stderr, progress=sys.stderr.isatty()))


@app.command(epilog=_examples("catalog-bridge init && $EDITOR catalog-bridge.yaml"))
def init(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Write a commented starter configuration file."""
    from bridge.config import config_path, write_starter

    written = write_starter(config_path(config, os.environ), force=force)
    typer.echo(f"Wrote {written}; set the token variable it names, then run catalog-bridge doctor.")


@app.command(
    epilog=_examples(
        "catalog-bridge emulator", "catalog-bridge emulator --estate estate.yaml --port 8080 --tls"
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
) -> None:
    """Serve an emulated Azure DevOps estate over HTTP(S) until interrupted; the first line
    printed is its base URL (point a profile's api_url, Backstage or scripts at it)."""
    from bridge.emulator import sample_estate_path, serve_forever

    serve_forever(estate or sample_estate_path(), host=host, port=port, tls=tls)


def main() -> None:
    """Console-script entry point: run the app, turning errors into messages and exit codes."""
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this code
            sys.stderr.write("interrupted\n")
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt, Exception) as error:
        sys.exit(report_failure(error))


def report_failure(error: BaseException) -> int:
    """Print the message for an error that ended a command and return its exit code.

    Re-raises errors that are bugs when CATALOG_BRIDGE_DEBUG is set (for a traceback).
    """
    if isinstance(error, typer.Abort | KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    if isinstance(error, BridgeError):
        sys.stderr.write(f"catalog-bridge: error: {error}\n")
        return exit_code_for(error)
    usage = _usage_error(error) if isinstance(error, Exception) else None
    if usage is None:
        raise error
    return usage


def _usage_error(error: Exception) -> int | None:
    """Click's usage errors (bad option, missing argument): print them as click would."""
    from typer._click.exceptions import ClickException

    if not isinstance(error, ClickException):
        if os.environ.get("CATALOG_BRIDGE_DEBUG"):
            return None
        sys.stderr.write(
            f"catalog-bridge: internal error: {type(error).__name__}: {error}\n"
            "Set CATALOG_BRIDGE_DEBUG=1 for a traceback, and please report it.\n"
        )
        return 70
    error.show()
    return error.exit_code
