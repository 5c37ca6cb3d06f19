"""A local Azure DevOps REST emulator for tests, benchmarks and demos.

- :class:`EmulatorApp` answers requests (``await app.handle(Request) -> Response``) from an
  :class:`Estate` (declared in YAML with :func:`load_estate`, generated with
  :func:`generate_estate`, or the shipped :func:`sample_estate_path`).
- :class:`EmulatorTransport` plugs the app into ``httpx.AsyncClient`` without sockets.
- :func:`run_in_thread` serves it on a loopback port for the duration of a ``with`` block;
  :func:`serve_forever` serves an estate file until stopped (the CLI's ``emulator`` command).
- :class:`EmulatorOptions` selects the cloud or on-premises layout, seeded faults and
  latency (:class:`FaultOptions`) and throttling (:class:`RateLimitOptions`).
"""

from bridge.emulator.app import EmulatorApp
from bridge.emulator.estate import Estate, Token
from bridge.emulator.estate_file import EstateFile, load_estate, parse_estate, sample_estate_path
from bridge.emulator.generator import DEFAULT_TOKEN_VALUE, GenerationSpec, generate_estate
from bridge.emulator.messages import Request, Response
from bridge.emulator.options import EmulatorOptions, FaultOptions, RateLimitOptions
from bridge.emulator.runner import RunningEmulator, run_in_thread, serve_forever
from bridge.emulator.stats import Stats
from bridge.emulator.transport import EmulatorTransport

__all__ = [
    "DEFAULT_TOKEN_VALUE",
    "EmulatorApp",
    "EmulatorOptions",
    "EmulatorTransport",
    "Estate",
    "EstateFile",
    "FaultOptions",
    "GenerationSpec",
    "RateLimitOptions",
    "Request",
    "Response",
    "RunningEmulator",
    "Stats",
    "Token",
    "generate_estate",
    "load_estate",
    "parse_estate",
    "run_in_thread",
    "sample_estate_path",
    "serve_forever",
]
