"""The command line: parses options and calls the library. Nothing else lives here."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Annotated, Protocol, cast

import typer

from bridge import __version__
from bridge.errors import (
    EXIT_CODE_MEANINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    BridgeError,
    UsageError,
    exit_code_for,
)


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
        exit_codes=(EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE),
    ),
)
def catalog(
    root: Annotated[
        str,
        typer.Argument(help="The root Location file, relative to the repository (or folder)."),
    ],
    repo: Annotated[
        str | None,
        typer.Option(help="A local repository or folder, or a remote repository URL."),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(help="Read the git tree at this branch, tag or commit (':' = the index)."),
    ] = None,
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
) -> None:
    """Process a whole catalog from its root Location as a fresh Backstage catalog would."""
    from bridge.catalog.processing.model import ProcessingOptions
    from bridge.catalog.processing.rules import DEFAULT_RULES, parse_rules
    from bridge.catalog.processing.runner import run_catalog

    options = ProcessingOptions(
        rules=parse_rules(rules) if rules is not None else DEFAULT_RULES,
        local_placeholders=local_placeholders,
    )
    raise typer.Exit(
        run_catalog(
            root,
            options,
            repo=repo,
            ref=ref,
            stream=sys.stdout,
            environ=os.environ,
            output_format=output_format.value if output_format else None,
            strict=strict,
            token_env=token_env,
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
            progress=progress,
            quiet=quiet,
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
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this code
            sys.stderr.write("interrupted\n")
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except BridgeError as error:
        sys.stderr.write(f"catalog-bridge: error: {error}\n")
        sys.exit(exit_code_for(error))
    except Exception as error:
        usage = _usage_error(error)
        if usage is None:
            raise
        sys.exit(usage)


def _usage_error(error: Exception) -> int | None:
    """Click's usage errors (bad option, missing argument): print them as click would."""
    if not isinstance(error, _click_exception()):
        if os.environ.get("CATALOG_BRIDGE_DEBUG"):
            return None
        sys.stderr.write(
            f"catalog-bridge: internal error: {type(error).__name__}: {error}\n"
            "Set CATALOG_BRIDGE_DEBUG=1 for a traceback, and please report it.\n"
        )
        return 70
    shown = cast(_ShownError, error)
    shown.show()
    return shown.exit_code


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
