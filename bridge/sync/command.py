"""The ``sync`` and ``demo`` commands' flow: configuration in, entities and a summary out."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import tempfile
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bridge.config import Config, load_config
from bridge.errors import EXIT_OK, EXIT_SHRUNK, Terminated, UsageError
from bridge.nightly.merge import write_manifest
from bridge.nightly.publish import NightlyOptions, Publication
from bridge.nightly.report import FailedScope
from bridge.nightly.shard import Scope, Shard
from bridge.sync.engine import SyncOptions, SyncResult, synchronize
from bridge.sync.output import STDOUT, open_sink
from bridge.sync.summary import render_summary
from bridge.terminal import request_log, write_notes

if TYPE_CHECKING:
    from bridge.state.run import StateRun

_DEMO_TOKEN_ENV = "CATALOG_BRIDGE_DEMO_PAT"


@dataclass(frozen=True, slots=True)
class SyncRun:
    """A finished ``run_sync``: what the sync did, and the exit code the run ends with (the
    nightly options can make it differ from the result's own)."""

    result: SyncResult
    exit_code: int


T = TypeVar("T")


def run_sync(
    config: Config,
    options: SyncOptions,
    *,
    output: str | None,
    output_format: str,
    stderr: TextIO,
    progress: bool,
    quiet: bool = False,
    state: Path | None = None,
    full: bool = False,
    nightly: NightlyOptions | None = None,
) -> SyncRun:
    """Sync the configuration's profiles into ``output``, print the summary to ``stderr``, and
    return what the run did with its exit code.

    A file output is published atomically at the end, in a stable order, so an interrupted
    run never leaves a truncated file; NDJSON to standard output streams as entities arrive.
    A run that read no repository leaves the previous output in place. ``progress`` draws a
    progress bar on ``stderr``; ``quiet`` prints the summary only when the run did not
    succeed (exit code other than 0).

    ``state`` (else the configuration's ``state.path``) is the state database: the run is
    recorded there and, unless ``full`` or a full refresh is due, reads only what changed;
    the previous entities then come from it. ``nightly``: the previous entities, change
    report, last-known-good entities, shrink guard and ``--fail-on`` (:mod:`bridge.nightly`);
    a refused shrink raises :class:`~bridge.errors.ShrinkError` once the report is written.
    """
    nightly = nightly or NightlyOptions()
    if nightly.annotate and output in (None, STDOUT):
        raise UsageError(
            "--annotate prints logging commands on standard output: write the entities to a "
            "file (--output)"
        )
    shard = options.shard or Shard()
    scope = Scope(frozenset(p.name for p in config.profiles), options.organizations, shard)
    write_notes(config.notes, stderr)
    line = None
    if progress:
        from bridge.progress import ProgressBar  # rich: only when a bar is drawn

        line = ProgressBar(stderr)
    with contextlib.ExitStack() as stack:
        if line is not None:
            stack.callback(line.finish)
        state_run = _begin_state(stack, state, config, options, full=full)
        if state_run is not None:
            nightly = replace(nightly, state=nightly.state or state_run)
        publication = Publication(nightly, scope, output, readable=output_format != "table")
        with open_sink(output_format, output) as sink:
            sync = synchronize(
                config.profiles,
                options,
                lambda entity: sink.write(publication.read(entity)),
                progress=line,
                state=state_run,
            )
            result = run_cancellable(sync)
            failed = [
                FailedScope(f.profile, f.organization, f.project, f.error.detail())
                for f in result.failures
            ]
            catalogs = [outcome.as_json() for outcome in result.catalogs]
            conclusion = publication.conclude(failed, sink.write, catalogs)
            if result.synced_nothing or conclusion.refused is not None:
                # Keep the previous output rather than replace it with an empty or shrunk one.
                sink.abort()
        # Recorded once the output is published: a run whose output failed is not finished.
        if state_run is not None:
            _finish(state_run, result)
    if result.synced_nothing or nightly.fail_on is None:
        code = result.exit_code
    else:
        code = conclusion.exit_code
    if conclusion.refused is not None:
        code = EXIT_SHRUNK
    published = not result.synced_nothing and conclusion.refused is None
    if not quiet or code != EXIT_OK:
        stderr.write(render_summary(result))
    # Quiet: the one-line report only when the run did not succeed, like the summary.
    quietly = quiet and code == EXIT_OK
    publication.announce(
        conclusion,
        published=published,
        stdout=sys.stdout,
        stderr=io.StringIO() if quietly else stderr,
    )
    if conclusion.refused is not None:
        raise conclusion.refused
    if options.shard is not None and output not in (None, STDOUT) and not result.synced_nothing:
        write_manifest(output, options.shard, scope, conclusion.report.failed)
    return SyncRun(result, code)


def _begin_state(
    stack: contextlib.ExitStack[bool | None],
    path: Path | None,
    config: Config,
    options: SyncOptions,
    *,
    full: bool,
) -> StateRun | None:
    """Open the state database at ``path`` (else the configuration's ``state.path``; none:
    no state) on ``stack``, and record the start of the run there."""
    path = path or config.state.path
    if path is None:
        return None
    from bridge.state.run import StateRun
    from bridge.state.store import StateStore

    return StateRun.begin(
        stack.enter_context(StateStore.open(path)),
        config.profiles,
        full=full,
        full_refresh_days=config.state.full_refresh_days,
        now=datetime.now(UTC),
        developers_days=options.developers_days,
    )


def _finish(state_run: StateRun, result: SyncResult) -> None:
    """Record the end of the run in the state: counts, requests, failures."""
    counts = {"repositories": result.repositories, "organizations": result.organizations}
    counts.update((f"catalog {status}", count) for status, count in result.by_status.items())
    counts.update(result.reads)
    for outcome in result.catalogs:  # backstage.catalog: what found no repository, or several
        for what, count in (
            ("catalog components", outcome.components),
            ("catalog components unmapped", len(outcome.unmapped)),
            ("catalog components ambiguous", len(outcome.ambiguous)),
        ):
            counts[what] = counts.get(what, 0) + count
    failures = [f"{failure.where}: {failure.error.detail()}" for failure in result.failures]
    failures += [
        f"{outcome.profile}: catalog repository {outcome.repository}: {outcome.error}"
        for outcome in result.catalogs
        if outcome.error is not None
    ]
    failures.sort()
    state_run.store.finish_run(state_run.run_id, counts, result.stats.requests, failures)


def run_cancellable(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)``, SIGTERM stopping it the way asyncio stops a run on Ctrl-C: the
    main task is cancelled, so every task unwinds in order (a signal handler raising in the
    middle of the event loop's own code could leave it unable to finish); then
    :class:`~bridge.errors.Terminated` is raised."""
    terminated = False

    async def main() -> T:
        nonlocal terminated
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def stop() -> None:
            nonlocal terminated
            terminated = True
            if task is not None:
                task.cancel()

        previous = signal.getsignal(signal.SIGTERM)
        # Not in the main thread, or not on Windows: SIGTERM keeps its handler.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, stop)
        try:
            return await work
        finally:
            if loop.remove_signal_handler(signal.SIGTERM) and previous is not None:
                signal.signal(signal.SIGTERM, previous)  # removing it reset the default

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if terminated:
            raise Terminated from None
        raise


def sync_command(
    *,
    config_file: str | None,
    profiles: Sequence[str],
    options: SyncOptions,
    output: str | None,
    output_format: str,
    environ: Mapping[str, str],
    stderr: TextIO,
    progress: bool,
    quiet: bool = False,
    verbose: bool = False,
    state: str | None = None,
    full: bool = False,
    nightly: NightlyOptions | None = None,
) -> int:
    """``catalog-bridge sync``: returns the exit code. ``quiet``, ``progress``, ``state``,
    ``full`` and ``nightly``: see :func:`run_sync`; ``verbose`` logs every request to
    ``stderr``."""
    config = load_config(config_file, environ=environ, profiles=profiles)
    options = replace(options, organizations=config.organization_filter(options.organizations))
    with request_log(stderr if verbose else None):
        return run_sync(
            config,
            options,
            output=output,
            output_format=output_format,
            stderr=stderr,
            progress=progress,
            quiet=quiet,
            state=Path(state) if state else None,
            full=full,
            nightly=nightly,
        ).exit_code


def demo_command(*, output: str, stderr: TextIO, progress: bool) -> int:
    """``catalog-bridge demo``: the real sync against the bundled emulator and sample estate.

    The emulator serves the sample estate on a free loopback port; a configuration file
    pointing at it is written to a temporary folder and loaded like any other, so the run
    goes through exactly the code a real sync uses.
    """
    from bridge.emulator import load_estate, run_in_thread, sample_estate_path

    loaded = load_estate(sample_estate_path())
    # The sample estate's full-access token: every organization, every scope.
    token = next(
        t for t in loaded.estate.tokens.values() if not t.revoked and t.organizations is None
    )
    with run_in_thread(loaded.estate, options=loaded.options) as emulator:
        stderr.write(f"Azure DevOps emulator with the sample estate at {emulator.base_url}\n")
        with tempfile.TemporaryDirectory() as folder:
            config_file = Path(folder, "catalog-bridge.yaml")
            config_file.write_text(
                "profiles:\n"
                "  - name: demo\n"
                '    organizations: ["*"]\n'
                f"    api_url: {emulator.base_url}/\n"
                f"    token_env: {_DEMO_TOKEN_ENV}\n"
                "    backstage:\n"
                "      attributes:\n"
                "        [catalog_name, title, category, lifecycle, owner, application]\n",
                encoding="utf-8",
            )
            environ = {**os.environ, _DEMO_TOKEN_ENV: token.value}
            config = load_config(config_file, environ=environ)
            code = run_sync(
                config,
                SyncOptions(),
                output=output,
                output_format="ndjson",
                stderr=stderr,
                progress=progress,
            ).exit_code
    stderr.write(f"Entities written to {output}\n")
    return code
