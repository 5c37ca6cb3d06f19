"""The ``catalog-bridge`` entry point (also ``python -m bridge``).

A pre-commit hook runs ``catalog-bridge validate FILE...`` on every commit, and loading the
option parser (Typer and click) costs about as much as validating a file. So when every
argument after ``validate`` is a path, the library is called directly with the command's
defaults (the same ones :mod:`bridge.cli` declares); any other command line, including one
with an option, ``--help`` or a shell-completion request, goes through :mod:`bridge.cli`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence


def hook_paths(argv: Sequence[str], environ: Mapping[str, str]) -> list[str] | None:
    """The paths of a ``validate PATH...`` command line without options, else None."""
    if len(argv) < 2 or argv[0] != "validate":
        return None
    paths = list(argv[1:])
    if any(path.startswith("-") and path != "-" for path in paths):
        return None  # an option, "--" or "--help": the full parser decides
    # Shell completion (click's _<PROG>_COMPLETE variable) must reach the parser.
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in environ):
        return None
    return paths


def main() -> None:
    """Run the command line; exits with the command's exit code."""
    paths = hook_paths(sys.argv[1:], os.environ)
    if paths is None:
        from bridge.cli import main as cli_main

        cli_main()
        return
    try:
        from bridge.catalog.runner import run_validation
        from bridge.catalog.validation import ValidationOptions

        code = run_validation(paths, ValidationOptions(), stream=sys.stdout, environ=os.environ)
    except (KeyboardInterrupt, Exception) as error:
        from bridge.cli import report_failure

        code = report_failure(error)
    sys.exit(code)


if __name__ == "__main__":
    main()
