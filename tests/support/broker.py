"""Start and stop real Snyk Brokers (server + client on loopback) with the shared runner.

``shared/tools/snyk-broker/run-broker.sh`` is used where it lies (never copied): ``start``
returns once a full round trip through server and client works and writes
``RUN_DIR/broker.env``; ``stop`` ends every process it started there. :func:`brokers_for`
is what a test module's broker fixture uses.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.emulator import RunningEmulator
from tests.support.node import install_package
from tests.support.shared import shared_path

PACKAGE = "snyk-broker@5.22.14"
START_TIMEOUT = 180.0  # the script itself waits up to READY_TIMEOUT (30 s) per stage


@dataclass(frozen=True)
class Broker:
    """A running broker: where its server listens, and what starting it cost."""

    server_url: str
    token: str
    run_dir: Path
    startup_ms: dict[str, int]
    wall_seconds: float


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key: value for key, sep, value in pairs if sep}


def _logs(run_dir: Path) -> str:
    tails = []
    for log in sorted(run_dir.glob("*.log")):
        tails.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(tails)


def start_broker(
    script: Path,
    install_dir: Path,
    run_dir: Path,
    *,
    origin: str,
    organization: str,
    pat: str,
    origin_ca: Path,
    broker_token: str,
    accept_file: Path | None = None,
) -> Broker:
    """Start a broker relaying ``organization`` at ``https://{origin}``; stop it with
    :func:`stop_brokers` (a failed start stops whatever it had started by itself)."""
    env = {
        **os.environ,
        "AZURE_REPOS_HOST": origin,
        "AZURE_REPOS_ORG": organization,
        "AZURE_REPOS_TOKEN": pat,
        "ORIGIN_CA": str(origin_ca),
        "BROKER_TOKEN": broker_token,
    }
    env.pop("ACCEPT_FILE", None)
    if accept_file is not None:
        env["ACCEPT_FILE"] = str(accept_file)
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(script), "start", str(install_dir), str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(
            f"run-broker.sh start failed ({result.returncode}):\n{result.stderr[-3000:]}\n"
            f"{_logs(run_dir)}"
        )
    settings = _read_env(run_dir / "broker.env")
    return Broker(
        server_url=settings["BROKER_SERVER_URL"],
        token=settings["BROKER_TOKEN"],
        run_dir=run_dir,
        startup_ms={
            key.removeprefix("STARTUP_MS_").lower(): int(value)
            for key, value in settings.items()
            if key.startswith("STARTUP_MS_")
        },
        wall_seconds=wall,
    )


def stop_brokers(script: Path, run_dirs: Iterable[Path]) -> None:
    """Stop every process the runner started in each of ``run_dirs``, in parallel (each
    stop waits a few seconds for node to exit)."""

    def stop(run_dir: Path) -> None:
        subprocess.run(
            ["bash", str(script), "stop", str(run_dir)],
            capture_output=True,
            timeout=60,
            check=False,
        )

    with ThreadPoolExecutor() as pool:
        list(pool.map(stop, run_dirs))


class BrokerStarter:
    """Starts brokers whose clients relay one organization of an HTTPS emulator."""

    def __init__(
        self,
        origin: RunningEmulator,
        organization: str,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        self._script = shared_path("tools", "snyk-broker", "run-broker.sh")
        self._install = install_package(PACKAGE, "snyk-broker")
        assert origin.ca_pem_path is not None
        self._ca: Path = origin.ca_pem_path
        # The origin as the broker client addresses it (AZURE_REPOS_HOST).
        self.host = origin.base_url.removeprefix("https://")
        self._organization = organization
        self._tmp_path_factory = tmp_path_factory
        self._run_dirs: list[Path] = []

    def start(
        self, name: str, *, pat: str, broker_token: str, accept_file: Path | None = None
    ) -> Broker:
        """Start a broker (run folder ``broker-{name}``) whose client calls with ``pat``."""
        self._run_dirs.append(self._tmp_path_factory.mktemp(f"broker-{name}"))
        return start_broker(
            self._script,
            self._install,
            self._run_dirs[-1],
            origin=self.host,
            organization=self._organization,
            pat=pat,
            origin_ca=self._ca,
            broker_token=broker_token,
            accept_file=accept_file,
        )

    def stop(self) -> None:
        """Stop every broker started so far."""
        stop_brokers(self._script, self._run_dirs)


@contextmanager
def brokers_for(
    origin: RunningEmulator, organization: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrokerStarter]:
    """A :class:`BrokerStarter` for ``origin``; every broker it started stops when the block
    ends, even after a failed start."""
    starter = BrokerStarter(origin, organization, tmp_path_factory)
    try:
        yield starter
    finally:
        starter.stop()
