"""The command line: parses options and calls the library. Nothing else lives here."""

from __future__ import annotations

import os
import sys
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


def main() -> None:
    """Console-script entry point: run the app, turning errors into messages and exit codes."""
    try:
        app(standalone_mode=False)
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
