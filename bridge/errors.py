"""The one exception tree of catalog-bridge, and the one table mapping it to exit codes.

Every error a user can cause or meet is a :class:`BridgeError`. Its message is meant to be
printed as is: it names the file/line/rule or the organization/project/repository and the
Azure DevOps error code, and it never contains a token (messages pass through
:func:`bridge.secrets.redact`).
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge.secrets import redact

# Exit codes, documented from EXIT_CODE_MEANINGS below.
EXIT_OK = 0
EXIT_PROBLEMS = 1  # validation problems found, or a sync finished with failures
EXIT_USAGE = 2  # bad command line
EXIT_CONFIG = 3  # configuration file missing or invalid
EXIT_AUTH = 4  # a token was refused (authentication or authorization)
EXIT_UNAVAILABLE = 5  # Azure DevOps / broker unreachable or failing
EXIT_SHRUNK = 6  # the shrink guard kept the previous output (--max-shrink)
EXIT_INTERNAL = 70  # a bug (sysexits' EX_SOFTWARE): never a user's mistake or an outage
EXIT_LOCKED = 75  # another run holds the output (sysexits' EX_TEMPFAIL: try again later)
# 128 + the signal number, as a shell reports a process the signal ended.
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)
EXIT_OUTPUT_CLOSED = 141  # SIGPIPE: standard output was closed (`sync | head`)
EXIT_TERMINATED = 143  # SIGTERM (CI cancellation, `docker stop`)

EXIT_PRECEDENCE = (EXIT_USAGE, EXIT_CONFIG, EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_PROBLEMS)
"""When several failures end a run, the exit code is the first of these among theirs.

The order is what a person has to fix first: the command line and the configuration are
read before anything else and block every organization; a refused token stays refused on
every retry, while an outage may pass, so a scheduler that retries on 5 must not be told 5
when a token needs replacing; anything else (a misspelt organization) comes last. The
doctor ranks its failures the same way.
"""

EXIT_CODE_MEANINGS: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "Success: every file valid / everything synced / every needed check passed"),
    (
        EXIT_PROBLEMS,
        "Problems found: invalid catalog files (`validate`); a sync that finished with "
        "failures (an organization, project, catalog file or field could not be read; "
        "invalid catalog files do not fail a sync); a failed doctor check",
    ),
    (EXIT_USAGE, "Usage error: bad option, missing path, unknown `--profile` or `--org`"),
    (EXIT_CONFIG, "Configuration error: the configuration file is missing or invalid"),
    (
        EXIT_AUTH,
        "A token was refused (every organization refused it, or a broker blocked the request)",
    ),
    (EXIT_UNAVAILABLE, "Azure DevOps or the Snyk Broker could not be reached"),
    (
        EXIT_SHRUNK,
        "The new output lost more entities than `--max-shrink` allows: the previous output "
        "is kept (`--accept-shrink` publishes it)",
    ),
    (
        EXIT_INTERNAL,
        "Internal error: a bug (please report it; `CATALOG_BRIDGE_DEBUG=1` shows the traceback)",
    ),
    (EXIT_LOCKED, "Another run is writing the same output file (it holds the lock; try again)"),
    (EXIT_INTERRUPTED, "Interrupted (Ctrl-C); output files are left as they were"),
    (
        EXIT_OUTPUT_CLOSED,
        "Standard output was closed by its reader (`sync | head`): the run stops quietly",
    ),
    (EXIT_TERMINATED, "Terminated (SIGTERM: CI cancellation, `docker stop`), handled like Ctrl-C"),
)
"""Every exit code and what it means: the one source of the README's table and ``--help``."""


class BridgeError(Exception):
    """Base class of every error catalog-bridge reports to its users."""

    def detail(self) -> str:
        """The message without the place it happened, for a line that names it already."""
        return str(self)

    def __str__(self) -> str:
        return redact(super().__str__())

    def __repr__(self) -> str:
        # repr() shows the raw arguments, which may echo a token back from a server.
        return redact(super().__repr__())


class Terminated(SystemExit):
    """SIGTERM arrived: stop as for Ctrl-C (outputs are aborted), exit 143.

    A :class:`SystemExit`, like ``KeyboardInterrupt`` not an ``Exception``: no ``except
    Exception`` swallows it, and context managers on the way out (an output being written)
    abort.
    """

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


class UsageError(BridgeError):
    """The command line asks for something that cannot be done."""


class ConfigError(BridgeError):
    """The configuration file is missing or invalid.

    ``key`` is the path of the offending key, e.g. ``profiles[0].organizations``.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        self.key = key
        self.source = source
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(BridgeError):
    """An input file cannot be used (unreadable, too large, not UTF-8, ...)."""


class OutputClosedError(InputError):
    """Standard output was closed by its reader (``sync | head``): stop quietly, exit 141."""


class LockedError(BridgeError):
    """Another run holds the lock on a file this run would write (exit 75: try again)."""


class ShrinkError(BridgeError):
    """The new output lost more entities than ``--max-shrink`` allows: not published."""


class AzureDevOpsError(BridgeError):
    """A failed call to Azure DevOps (or to a Snyk Broker in front of it).

    Carries where it happened (organization/project/repository), the Azure DevOps error code
    (``TF401019``, ``VS403403``, ...) when the service sent one, and the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        organization: str | None = None,
        project: str | None = None,
        repository: str | None = None,
        code: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.organization = organization
        self.project = project
        self.repository = repository
        self.code = code
        self.status = status
        self.hint = hint
        super().__init__(message)

    @property
    def where(self) -> str:
        """``org/project/repo`` as far as known."""
        return "/".join(p for p in (self.organization, self.project, self.repository) if p)

    @property
    def codes(self) -> str:
        """`` (VS30063, HTTP 401)``: the Azure DevOps error code and HTTP status, if any."""
        parts = [
            part for part in (self.code, f"HTTP {self.status}" if self.status else None) if part
        ]
        return f" ({', '.join(parts)})" if parts else ""

    def detail(self) -> str:
        """The message with its code, status and hint, without the place."""
        text = f"{self.message}{self.codes}"
        if self.hint:
            text += f". Hint: {self.hint}"
        return redact(text)

    def __str__(self) -> str:
        # The place holds the caller's names, which a careless caller may fill with a token.
        return redact(f"{self.where}: {self.detail()}") if self.where else self.detail()


class AuthenticationError(AzureDevOpsError):
    """The token was refused.

    ``reason`` is ``"unknown-token"`` (missing, malformed or unknown: Azure answers with its
    sign-in page) or ``"rejected"`` (expired, revoked or lacking a scope: HTTP 401/403).
    """

    def __init__(self, message: str, *, reason: str, **kwargs: object) -> None:
        self.reason = reason
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class NotFoundError(AzureDevOpsError):
    """Something addressed does not exist (or the token may not see it)."""


class ProjectNotFoundError(NotFoundError):
    """``TF200016`` / ``VS800075``: the project is missing or not visible."""


class RepositoryNotFoundError(NotFoundError):
    """``TF401019``: the repository is missing, not visible or disabled."""


class EmptyRepositoryError(NotFoundError):
    """``VS403403``: the repository has no branches yet."""


class ItemNotFoundError(NotFoundError):
    """``TF401174``: the file does not exist at that version (a normal outcome)."""


class BranchNotFoundError(NotFoundError):
    """``TF401175``: the branch or version does not resolve."""


class ConflictError(AzureDevOpsError):
    """``TF401179`` (duplicate pull request) or ``TF401028`` (stale ref)."""


class RateLimitError(AzureDevOpsError):
    """``TF400733``: still throttled after every retry."""


class ServiceError(AzureDevOpsError):
    """5xx answers, connection failures and timeouts that outlasted the retries."""


class UntrustedCertificateError(ServiceError):
    """The server's TLS certificate is not trusted (a private CA, or the wrong host)."""


class ProtocolError(AzureDevOpsError):
    """An answer that is not what the API documents (HTML, truncated or non-JSON body)."""


class ApiVersionError(AzureDevOpsError):
    """The server supports no api-version this tool can speak."""


class BrokerError(AzureDevOpsError):
    """A Snyk Broker refused or failed to relay a request (``x-broker-failure``)."""


class BrokerBlockedError(BrokerError):
    """The broker client's accept rules blocked the request (``FILTER_BLOCKED``)."""


class EmulatorError(BridgeError):
    """The Azure DevOps emulator cannot start or its estate file is invalid."""


_EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    # Most specific first: the first matching class wins.
    (Terminated, EXIT_TERMINATED),
    (UsageError, EXIT_USAGE),
    (ConfigError, EXIT_CONFIG),
    (EmulatorError, EXIT_CONFIG),
    (AuthenticationError, EXIT_AUTH),
    (BrokerBlockedError, EXIT_AUTH),
    # A wrong organization, project or repository name is a mistake, not an outage.
    (NotFoundError, EXIT_PROBLEMS),
    (AzureDevOpsError, EXIT_UNAVAILABLE),
    (OutputClosedError, EXIT_OUTPUT_CLOSED),
    (InputError, EXIT_PROBLEMS),
    (LockedError, EXIT_LOCKED),
    (ShrinkError, EXIT_SHRUNK),
    (KeyboardInterrupt, EXIT_INTERRUPTED),
    (BridgeError, EXIT_PROBLEMS),
)


def exit_code_for(error: BaseException) -> int:
    """The process exit code for ``error`` (the single place this mapping lives)."""
    for cls, code in _EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_PROBLEMS


def combined_exit_code(errors: Iterable[BaseException]) -> int:
    """The exit code of a run that several ``errors`` ended: by :data:`EXIT_PRECEDENCE`, so it
    does not depend on which failure arrived first (``EXIT_OK`` when there is none)."""
    codes = {exit_code_for(error) for error in errors}
    if not codes:
        return EXIT_OK
    return min(codes, key=_rank)


def _rank(code: int) -> int:
    # Codes outside the precedence (signals, a locked or closed output) stopped the run
    # itself: they come before any failure.
    return EXIT_PRECEDENCE.index(code) if code in EXIT_PRECEDENCE else -1


def leading_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error to report for ``group`` (what ``asyncio.TaskGroup`` raises).

    An interruption wins, then a bug (anything not a :class:`BridgeError`: it must surface
    as one), else the error whose exit code ranks first in :data:`EXIT_PRECEDENCE`, the
    earliest of those on a tie.
    """
    leaves = list(_leaves(group))
    for error in leaves:
        if not isinstance(error, Exception):
            return error  # KeyboardInterrupt, SystemExit
    for error in leaves:
        if not isinstance(error, BridgeError):
            return error
    code = combined_exit_code(leaves)
    return next(error for error in leaves if exit_code_for(error) == code)


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterable[BaseException]:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            yield from _leaves(error)
        else:
            yield error
