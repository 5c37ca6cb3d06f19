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
)


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
    epilog="Examples: catalog-bridge validate catalog-info.yaml | "
    "catalog-bridge validate --format json catalogs/ | "
    "cat catalog-info.yaml | catalog-bridge validate -",
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


def main() -> None:
    """Console-script entry point: run the app, turning errors into messages and exit codes."""
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
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
