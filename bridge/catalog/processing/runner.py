"""The ``catalog`` command's flow: open the tree, process it, print, decide the exit code."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bridge import gitrepo
from bridge.catalog.output import choose_format
from bridge.catalog.processing.engine import collector_paused, process_catalog
from bridge.catalog.processing.model import CatalogResult, ProcessingOptions
from bridge.catalog.processing.output import counts, render
from bridge.catalog.reader import CatalogReader, FolderReader, join
from bridge.errors import EXIT_OK, EXIT_PROBLEMS, UsageError

if TYPE_CHECKING:
    from bridge.catalog.processing.rules import KindRule
    from bridge.secrets import Secret


@dataclass(frozen=True, slots=True)
class CatalogTarget:
    """What ``catalog`` processes: a repository (None: the current folder), a ref, the root
    Location file and the rules, and what fetching a remote repository needs. The command
    line's values, over a profile's ``backstage.catalog`` (:func:`profile_target`)."""

    repo: str | None = None
    ref: str | None = None
    root: str | None = None
    rules: tuple[KindRule, ...] | None = None
    token: Secret | None = None
    ca_file: Path | None = None

    def over(self, base: CatalogTarget) -> CatalogTarget:
        """These values where given, ``base``'s elsewhere (the token and CA file: base's)."""
        return CatalogTarget(
            self.repo or base.repo,
            self.ref or base.ref,
            self.root or base.root,
            self.rules or base.rules,
            base.token,
            base.ca_file,
        )


def profile_target(
    config_file: str | None, profile: str, environ: Mapping[str, str]
) -> CatalogTarget:
    """The catalog repository a profile's ``backstage.catalog`` names, with its root, ref,
    rules and the profile's token (as ``sync`` reads it)."""
    from bridge.config import load_config

    config = load_config(config_file, environ=environ, profiles=[profile])
    (chosen,) = config.profiles
    settings = chosen.backstage.catalog if chosen.backstage is not None else None
    if settings is None:
        raise UsageError(f"--profile {profile}: the profile has no backstage.catalog")
    return CatalogTarget(
        settings.repository,
        settings.ref,
        settings.root,
        settings.rules,
        chosen.token,
        chosen.ca_file,
    )


def _fetch(
    repo: str, environ: Mapping[str, str], token_env: str | None, target: CatalogTarget
) -> Path:
    """A remote repository fetched into the user's cache (a bare copy; the token travels as
    a header only, see :func:`bridge.gitrepo.fetch_into_cache`): ``--token-env``'s token,
    else the profile's."""
    token: Secret | str | None = target.token
    if token_env:
        token = environ.get(token_env)
        if not token:
            raise UsageError(f"--token-env {token_env}: the variable is not set")
    return gitrepo.fetch_into_cache(repo, token, ca_file=target.ca_file)


@contextmanager
def open_tree(
    repo: str | None,
    ref: str | None,
    *,
    environ: Mapping[str, str],
    token_env: str | None = None,
    target: CatalogTarget | None = None,
) -> Iterator[tuple[CatalogReader, str]]:
    """The reader for ``--repo``/``--ref`` and the absolute path its root stands for.

    No ``--repo``: the current folder on disk (``--ref`` then reads the current folder's git
    repository at that ref). A URL is fetched into the cache first.
    """
    if repo is None and ref is None:
        folder = Path.cwd()
        yield FolderReader(folder), str(folder)
        return
    remote = repo is not None and gitrepo.is_remote(repo)
    if repo and remote:
        path = _fetch(repo, environ, token_env, target or CatalogTarget())
    else:
        path = Path(repo or ".")
    if not path.exists():
        raise UsageError(f"--repo {repo}: no such folder")
    if ref is None and not remote:
        yield FolderReader(path), str(path.resolve())
        return
    from bridge.catalog.gitreader import GitTreeReader  # git only when a ref is read

    with gitrepo.GitRepository(path) as repository:
        yield GitTreeReader(repository, ref or "HEAD"), str(path.resolve())


def check_root(reader: CatalogReader, root: str) -> str:
    """``root`` as a path of the tree (usage error when it leaves the tree or is missing)."""
    normalised = join("x", root.replace(os.sep, "/"))
    if not normalised:
        raise UsageError(f"{root}: the root must be a file inside the repository")
    if not reader.is_file(normalised):
        raise UsageError(f"{root}: no such file in {reader.label}")
    return normalised


def staged(repo: str | None, ref: str | None) -> tuple[str, str]:
    """``--staged``: ``--repo`` (default: the current folder) at the index, what ``git commit``
    would record."""
    if ref is not None and ref != gitrepo.INDEX:
        raise UsageError(f"--staged reads the index; it cannot be combined with --ref {ref}")
    return repo or ".", gitrepo.INDEX


def run_catalog(
    root: str,
    options: ProcessingOptions,
    *,
    repo: str | None,
    ref: str | None,
    stream: TextIO,
    environ: Mapping[str, str],
    output_format: str | None = None,
    strict: bool = False,
    token_env: str | None = None,
    index: bool = False,
    target: CatalogTarget | None = None,
) -> int:
    """Process the catalog below ``root``, print the report; the exit code (0 ok, 1 problems).

    ``index``: read the staged index (see :func:`staged`); ``target``: the token and CA
    file for a remote repository (a profile's, see :func:`profile_target`).
    """
    if index:
        repo, ref = staged(repo, ref)
    with collector_paused():
        result = load_catalog(
            root,
            options,
            repo=repo,
            ref=ref,
            environ=environ,
            token_env=token_env,
            target=target,
        )
        fmt = choose_format(output_format, environ)
        stream.write(render(result, fmt, strict=strict))
        ok = counts(result, strict=strict).ok
        del result  # freed while the collector is paused (see collector_paused)
    return EXIT_OK if ok else EXIT_PROBLEMS


def load_catalog(
    root: str,
    options: ProcessingOptions,
    *,
    repo: str | None,
    ref: str | None,
    environ: Mapping[str, str],
    token_env: str | None = None,
    target: CatalogTarget | None = None,
) -> CatalogResult:
    """Open the tree ``--repo``/``--ref`` name and process the catalog registered at ``root``."""
    opened = open_tree(repo, ref, environ=environ, token_env=token_env, target=target)
    with opened as (reader, absolute):
        path = check_root(reader, root)
        return process_catalog(reader, path, replace(options, absolute_root=absolute))
