"""The ``catalog-bridge`` entry point (also ``python -m bridge``).

A pre-commit hook runs ``catalog-bridge validate FILE...`` on every commit, and loading the
option parser (Typer and click) costs about as much as validating a file. So when every
argument after ``validate`` is a path, the library is called directly with the command's
defaults (the same ones :mod:`bridge.cli` declares); any other command line, including one
with an option, ``--help`` or a shell-completion request, goes through :mod:`bridge.cli`.
The whole-catalog hook's command line (``catalog --staged --strict ROOT``, with at most
``--rules KINDS``) is served the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

_CATALOG_HOOK = ("catalog", "--staged", "--strict")  # the entry of .pre-commit-hooks.yaml


def _completing(environ: Mapping[str, str]) -> bool:
    """Whether the shell asks for completions (click's _<PROG>_COMPLETE variable): those
    must reach the parser."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in environ)


def hook_paths(argv: Sequence[str], environ: Mapping[str, str]) -> list[str] | None:
    """The paths of a ``validate PATH...`` command line without options, else None."""
    if len(argv) < 2 or argv[0] != "validate":
        return None
    paths = list(argv[1:])
    if any(path.startswith("-") and path != "-" for path in paths):
        return None  # an option, "--" or "--help": the full parser decides
    return None if _completing(environ) else paths


def catalog_hook(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[str, str | None] | None:
    """(root, ``--rules`` or None) of the whole-catalog hook's command line,
    ``catalog --staged --strict`` then a root and at most ``--rules KINDS``; else None."""
    if tuple(argv[:3]) != _CATALOG_HOOK or _completing(environ):
        return None
    roots: list[str] = []
    rules: list[str] = []
    rest = list(argv[3:])
    while rest:
        argument = rest.pop(0)
        if argument == "--rules" and rest and not rest[0].startswith("-"):
            rules.append(rest.pop(0))
        elif argument.startswith("--rules="):
            rules.append(argument.removeprefix("--rules="))
        elif argument.startswith("-"):
            return None  # another option, "--" or "--help": the full parser decides
        else:
            roots.append(argument)
    if len(roots) != 1 or len(rules) > 1:
        return None  # the parser explains what is wrong
    return roots[0], rules[0] if rules else None


def _run_catalog_hook(root: str, rules: str | None) -> int:
    """``catalog --staged --strict ROOT [--rules KINDS]`` with the command's other defaults."""
    from bridge.catalog.processing.model import ProcessingOptions
    from bridge.catalog.processing.rules import DEFAULT_RULES, parse_rules
    from bridge.catalog.processing.runner import run_catalog

    options = ProcessingOptions(
        rules=parse_rules(rules) if rules is not None else DEFAULT_RULES, cache=True
    )
    return run_catalog(
        root,
        options,
        repo=None,
        ref=None,
        stream=sys.stdout,
        environ=os.environ,
        strict=True,
        index=True,
    )


def main() -> None:
    """Run the command line; exits with the command's exit code."""
    paths = hook_paths(sys.argv[1:], os.environ)
    catalog = catalog_hook(sys.argv[1:], os.environ)
    if paths is None and catalog is None:
        from bridge.cli import main as cli_main

        cli_main()
        return
    try:
        if catalog is not None:
            code = _run_catalog_hook(*catalog)
        else:
            from bridge.catalog.runner import run_validation
            from bridge.catalog.validation import ValidationOptions

            code = run_validation(
                paths or [], ValidationOptions(), stream=sys.stdout, environ=os.environ
            )
    except (KeyboardInterrupt, Exception) as error:
        from bridge.cli import report_failure

        code = report_failure(error)
    sys.exit(code)


if __name__ == "__main__":
    main()
