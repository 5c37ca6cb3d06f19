"""Run modes: a background thread (tests) and the foreground until stopped (CLI, benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bridge.emulator.app import EmulatorApp
from bridge.emulator.estate import SCOPES, Estate, Token
from bridge.emulator.estate_file import load_estate
from bridge.emulator.http_server import HttpServer
from bridge.emulator.options import EmulatorOptions, with_fault_overrides
from bridge.emulator.stats import Stats
from bridge.emulator.tls import CA_FILE_NAME, ServerTls, server_tls
from bridge.errors import EmulatorError

START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class RunningEmulator:
    """A started emulator: where it listens and what it counted."""

    app: EmulatorApp
    base_url: str
    ca_pem_path: Path | None  # the CA to trust, when serving HTTPS

    @property
    def stats(self) -> Stats:
        """Request counters of this emulator."""
        return self.app.stats


def _tls(
    tls: bool, ca_path: Path | None, host: str, scratch: Callable[[], Path]
) -> ServerTls | None:
    if not tls:
        return None
    return server_tls(ca_path or scratch() / CA_FILE_NAME, host)


def _bind_error(host: str, port: int, error: BaseException) -> EmulatorError:
    return EmulatorError(f"the emulator cannot listen on {host}:{port}: {error}")


@contextlib.contextmanager
def run_in_thread(
    target: Estate | EmulatorApp,
    *,
    options: EmulatorOptions | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    ca_path: Path | None = None,
) -> Iterator[RunningEmulator]:
    """Serve an estate (or a ready app) from a background thread while the block runs.

    ``port=0`` picks a free port; ``tls=True`` serves HTTPS with a throw-away CA whose PEM
    file is ``ca_pem_path`` of the result (written to ``ca_path`` when given).
    """
    app = target if isinstance(target, EmulatorApp) else EmulatorApp(target, options)
    with tempfile.TemporaryDirectory(prefix="emulator-") as scratch:
        material = _tls(tls, ca_path, host, lambda: Path(scratch))
        server = HttpServer(
            app, host=host, port=port, ssl_context=material.context if material else None
        )
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.start())
            except OSError as error:
                failures.append(error)
                return
            finally:
                started.set()
            loop.run_forever()
            loop.run_until_complete(server.close())

        thread = threading.Thread(target=serve, name="azure-devops-emulator", daemon=True)
        thread.start()
        started.wait(START_TIMEOUT)
        try:
            if failures:
                raise _bind_error(host, port, failures[0])
            yield RunningEmulator(app, server.base_url, material.ca_pem_path if material else None)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(START_TIMEOUT)
            loop.close()
            app.close()


def serve_forever(
    estate_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    options: EmulatorOptions | None = None,
    faults: str | None = None,
    latency_ms: float | None = None,
    ca_path: Path | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve an estate file until SIGINT/SIGTERM.

    Announces the base URL as the first line (and, with ``tls``, ``CA certificate: PATH`` as
    the second), so a parent process can read where to connect, then one line per token
    (:func:`token_lines`); ``announce`` defaults to printing to stdout with a flush.
    ``options`` replaces the file's ``options:`` section; ``faults`` and ``latency_ms``
    change its fault settings (:func:`~bridge.emulator.options.with_fault_overrides`).
    """
    loaded = load_estate(estate_path)
    chosen = options or loaded.options
    if faults is not None or latency_ms is not None:
        chosen = with_fault_overrides(chosen, faults, latency_ms=latency_ms)
    app = EmulatorApp(loaded.estate, chosen)
    with tempfile.TemporaryDirectory(prefix="emulator-") as scratch:
        material = _tls(tls, ca_path, host, lambda: Path(scratch))
        asyncio.run(_serve_until_stopped(app, host, port, material, announce or _print_line))


def _announce(
    app: EmulatorApp, base_url: str, material: ServerTls | None, announce: Callable[[str], None]
) -> None:
    announce(base_url)
    if material is not None:
        announce(f"CA certificate: {material.ca_pem_path}")
    for line in token_lines(app.estate):
        announce(line)


def token_lines(estate: Estate) -> list[str]:
    """``token NAME: VALUE (...)`` for each token of the estate, for people trying it out.

    Estate tokens are fake tokens of a fake service, so their values are shown; a value read
    from an environment variable (``value_env``) may be a real secret and is only named.
    """
    return [_token_line(token) for token in estate.tokens.values()]


def _token_line(token: Token) -> str:
    value = f"${token.value_env}" if token.value_env else token.value
    where = "all" if token.organizations is None else ", ".join(sorted(token.organizations))
    scopes = "all" if token.scopes >= SCOPES else ", ".join(sorted(token.scopes))
    notes = [f"user {token.identity.email}", f"organizations: {where}", f"scopes: {scopes}"]
    if token.revoked:
        notes.append("revoked: answers 401")
    return f"token {token.name}: {value} ({'; '.join(notes)})"


def _print_line(line: str) -> None:
    print(line, flush=True)  # a parent process reads it through a pipe


async def _serve_until_stopped(
    app: EmulatorApp,
    host: str,
    port: int,
    material: ServerTls | None,
    announce: Callable[[str], None],
) -> None:
    server = HttpServer(
        app, host=host, port=port, ssl_context=material.context if material else None
    )
    try:
        await server.start()
    except OSError as error:
        raise _bind_error(host, port, error) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal_number, stop.set)
    _announce(app, server.base_url, material, announce)
    try:
        await stop.wait()
    finally:
        await server.close()
        app.close()
