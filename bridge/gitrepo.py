"""Every use of git, behind one module: trees at a ref or in the index, and their blobs.

Reading goes straight to the object database (one ``git ls-tree``/``ls-files`` for a
listing, ``cat-file --batch`` for the blobs), so a catalog is read as it is at a commit, a
tag, a branch or in the staged index without a checkout and without touching the working
tree. Listings and batches run git itself; gitpython (its persistent ``cat-file`` process for
single objects, and commits) is imported only when one of those is needed: importing it
costs a tenth of the whole-catalog hook's run. Two operations write:
:func:`fetch_into_cache`, which keeps a bare copy of a remote repository (Azure Repos) in the
user's cache, and :meth:`GitRepository.commit_on_branch`, which commits files a command wrote
(``generate --into --commit-branch``) on a new branch.

A remote's token travels only as an ``Authorization`` header handed to git through
``GIT_CONFIG_*`` environment variables: never in the URL, the command line (visible to other
users in ``ps``), the cached repository's configuration, or a message.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

# httpx and the Azure DevOps client are imported where a remote is fetched: reading a local
# tree (the whole-catalog pre-commit hook) must not pay for them on every commit.
from bridge.errors import (
    AuthenticationError,
    AzureDevOpsError,
    EmptyRepositoryError,
    InputError,
    ServiceError,
    UsageError,
)
from bridge.secrets import Secret, redact, register

if TYPE_CHECKING:
    import ssl

    import git

INDEX = ":"
"""The ref meaning the staged index (what ``git commit`` would record)."""

# git's file modes: a symbolic link's blob holds the link's target; a gitlink (submodule)
# points at a commit of another repository and has no content here.
_SYMLINK = "120000"
_GITLINK = "160000"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file of a tree: its blob id and whether it is a symbolic link."""

    blob: str
    symlink: bool


DEFAULT_REF = "HEAD"
"""The ref read when none is given: the checked-out branch, or a remote's default branch."""

_CODE_READ = "Code (Read)"  # the PAT scope a fetch needs, as the token page names it

FETCH_TIMEOUT = 300.0
"""Seconds one git command of :func:`fetch_into_cache` may take."""

# What git's commands must not inherit: a hook's repository, a user's prompts and helpers.
_GIT_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_CONFIG_PARAMETERS",
)


class GitRepository:
    """A local git repository (a work tree's root or a bare clone), opened read-only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # One git call tells a work tree's root or a bare repository from anything else (a
        # sub-folder of a work tree reads the whole tree at its root: refused, as a path
        # that is not a repository).
        facts = self._git(
            "rev-parse",
            "--is-bare-repository",
            "--is-inside-work-tree",
            "--show-prefix",
            "--git-common-dir",
            check=False,
        )
        lines = facts.stdout.decode("utf-8", "surrogateescape").split("\n")
        if (
            facts.returncode
            or len(lines) < 4
            or not (lines[0] == "true" or lines[1:3] == ["true", ""])
        ):
            raise UsageError(f"{path}: not a git repository")
        self._common_dir = self.path / lines[3]
        self._repo: git.Repo | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End git's helper processes (``cat-file --batch``), if any were started."""
        if self._repo is not None:
            self._repo.close()

    @property
    def cache_dir(self) -> Path:
        """catalog-bridge's folder in the repository's git folder (shared by its worktrees;
        a bare repository's own folder)."""
        return self._common_dir.resolve() / "catalog-bridge"

    def default_ref(self) -> str:
        """The branch ``HEAD`` points at (a bare cache's HEAD is the remote's default
        branch), or ``HEAD`` itself when it is detached."""
        done = self._git("symbolic-ref", "--quiet", "--short", DEFAULT_REF, check=False)
        return done.stdout.decode("utf-8", "surrogateescape").strip() or DEFAULT_REF

    def resolve(self, ref: str) -> str:
        """The commit id ``ref`` names (a branch, tag, commit or ``HEAD~2``-style expression).

        ``:`` (the index) has no commit: it resolves to itself.
        """
        if ref == INDEX:
            return INDEX
        done = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if done.returncode:
            raise UsageError(f"{self.path}: {ref!r} is not a commit, branch or tag")
        return done.stdout.decode("ascii").strip()

    def files(self, ref: str) -> Mapping[str, TreeEntry]:
        """Every file of the tree at ``ref`` (``:`` for the index): path → entry, sorted.

        Paths use ``/`` and are relative to the repository's root. Submodules have no files
        here; files in conflict in the index are listed at their "ours" stage.
        """
        entries: dict[str, TreeEntry] = {}
        if ref == INDEX:
            # mode SP blob SP stage TAB path NUL
            for record in self._records("ls-files", "--stage", "-z"):
                meta, _, path = record.partition("\t")
                mode, blob, stage = meta.split(" ")
                if mode != _GITLINK and stage in ("0", "2"):
                    entries[path] = TreeEntry(blob, mode == _SYMLINK)
        else:
            commit = self.resolve(ref)
            # mode SP type SP blob TAB path NUL
            for record in self._records("ls-tree", "-r", "-z", "--full-tree", commit):
                meta, _, path = record.partition("\t")
                mode, kind, blob = meta.split(" ")
                if kind == "blob":
                    entries[path] = TreeEntry(blob, mode == _SYMLINK)
        return dict(sorted(entries.items()))

    def commit_on_branch(self, branch: str, paths: Sequence[str], message: str) -> str:
        """Switch the work tree to a new ``branch`` made at ``HEAD`` (local changes are kept)
        and commit ``paths`` (relative to the root) only; returns the new commit's id.

        A branch that already exists, or a name git refuses, is a :class:`UsageError`.
        """
        from git.exc import GitCommandError

        repo = self._gitpython()
        git_cmd = repo.git
        try:
            git_cmd.check_ref_format("--branch", branch)
        except GitCommandError:
            raise UsageError(f"{self.path}: {branch!r} is not a valid branch name") from None
        if branch in (head.name for head in repo.heads):
            raise UsageError(f"{self.path}: branch {branch!r} already exists")
        try:
            git_cmd.switch("-c", branch)
            git_cmd.add("--", *paths)
            # --only: the staged changes of other files stay staged, out of this commit.
            git_cmd.commit("--only", "-m", message, "--", *paths)
        except GitCommandError as error:
            detail = (error.stderr or str(error)).strip()
            raise InputError(f"{self.path}: git could not commit on {branch!r}: {detail}") from None
        return self.resolve("HEAD")

    def read(self, blob: str, max_bytes: int | None = None) -> bytes | int:
        """A blob's content, or its size when that is over ``max_bytes``.

        One exchange with git's ``cat-file --batch``: its header announces the size before the
        content, so an oversized blob is drained from the pipe in blocks, never held whole.
        """
        size, content = self._stream(blob, max_bytes)
        return size if content is None else content

    def read_text(self, blob: str) -> str:
        """A small blob (a symbolic link's target) as text."""
        _, content = self._stream(blob, None)
        return (content or b"").decode("utf-8", "surrogateescape")

    def _stream(self, blob: str, max_bytes: int | None) -> tuple[int, bytes | None]:
        """The blob's size, and its content unless that is over ``max_bytes``."""
        try:
            stream = self._gitpython().odb.stream(bytes.fromhex(blob))
            size = int(stream.size)
            if max_bytes is not None and size > max_bytes:
                while stream.read(1 << 16):  # the pipe must be drained before the next object
                    pass
                return size, None
            return size, bytes(stream.read())
        except (ValueError, OSError) as error:
            raise InputError(f"{self.path}: cannot read git object {blob}: {error}") from None

    def read_many(self, blobs: Iterable[str], max_bytes: int) -> dict[str, bytes | int]:
        """Many blobs in two ``git cat-file`` runs (sizes, then contents): blob id -> content,
        or its size when that is over ``max_bytes`` (not read).

        One process per batch instead of a round trip per blob: reading a catalog of
        thousands of files costs one pass over the object database.
        """
        wanted = sorted(set(blobs))
        if not wanted:
            return {}
        found: dict[str, bytes | int] = {}
        small = []
        for line in self._batch("--batch-check", wanted).decode("ascii").splitlines():
            blob, kind, size = line.split(" ")  # "<id> missing" has no size: git failed above
            if kind == "blob":
                if int(size) > max_bytes:
                    found[blob] = int(size)
                else:
                    small.append(blob)
        output = self._batch("--batch", small)
        position = 0
        while position < len(output):
            end = output.index(b"\n", position)
            blob, _, size = output[position:end].decode("ascii").split(" ")
            start = end + 1
            found[blob] = output[start : start + int(size)]
            position = start + int(size) + 1  # the content is followed by a newline
        return found

    def _batch(self, mode: str, blobs: list[str]) -> bytes:
        # Files, not pipes, at both ends: output read from a pipe comes a few KiB per poll in
        # Python, which over thousands of blobs costs the caller more than git's own work.
        with tempfile.TemporaryFile() as ids, tempfile.TemporaryFile() as output:
            ids.write("".join(f"{blob}\n" for blob in blobs).encode("ascii"))
            ids.seek(0)
            self._git("cat-file", mode, stdin=ids, stdout=output)
            output.seek(0)
            return output.read()

    def _records(self, *args: str) -> Iterator[str]:
        """The NUL-separated records a git command prints (``-z``)."""
        output = self._git(*args).stdout.decode("utf-8", "surrogateescape")
        return (record for record in output.split("\0") if record)

    def _git(
        self,
        *args: str,
        check: bool = True,
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a read-only git command in the repository (its environment inherited, so a
        hook reads the index git names). ``check``: a failure is an :class:`InputError`
        with git's words."""
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.path,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=stdout if stdout is not None else subprocess.PIPE,
                stderr=subprocess.PIPE,
                check=False,
            )
        except OSError as error:
            if error.filename == "git":
                raise UsageError(f"{self.path}: cannot run git ({error.strerror})") from None
            raise UsageError(f"{self.path}: not a git repository") from None  # no such folder
        if check and done.returncode:
            stderr = done.stderr.decode("utf-8", errors="replace").strip()
            raise InputError(f"{self.path}: git {args[0]} failed: {stderr}")
        return done

    def _gitpython(self) -> git.Repo:
        """gitpython's view of the repository, made when first needed."""
        if self._repo is None:
            import git

            self._repo = git.Repo(self.path)
        return self._repo


def is_remote(source: str) -> bool:
    """Whether a catalog repository is given as an ``http(s)://`` URL (else a local path)."""
    return source.lower().startswith(("https://", "http://"))


def user_cache_dir() -> Path:
    """catalog-bridge's folder in the user's cache (``$XDG_CACHE_HOME``, ``~/.cache``,
    ``~/Library/Caches`` or ``%LOCALAPPDATA%``)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "catalog-bridge"


def local_or_fetched(
    source: str,
    token: Secret | str | None,
    cache_dir: Path | None = None,
    *,
    ca_file: Path | None = None,
    timeout: float = FETCH_TIMEOUT,
) -> Path:
    """The local repository ``source`` names: a path as is (no network), a URL fetched
    into the cache by :func:`fetch_into_cache`."""
    if is_remote(source):
        return fetch_into_cache(source, token, cache_dir, ca_file=ca_file, timeout=timeout)
    return Path(source)


def fetch_into_cache(
    url: str,
    token: Secret | str | None,
    cache_dir: Path | None = None,
    *,
    ca_file: Path | None = None,
    timeout: float = FETCH_TIMEOUT,
) -> Path:
    """Clone or update a bare copy of the remote repository at ``url``; its path.

    ``url`` is an Azure Repos clone or web URL (``https://dev.azure.com/org/project/_git/repo``,
    on-premises ``https://server/tfs/Collection/project/_git/repo``; user-info such as
    ``org@`` is dropped). The copy lives in ``cache_dir`` (default ``git`` under
    :func:`user_cache_dir`), in a folder named by the SHA-256 of the normalised URL. Every
    branch and tag is fetched (deleted ones pruned) and ``HEAD`` follows the remote's default
    branch, so :data:`DEFAULT_REF` reads it. ``ca_file`` is the certificate authority file git
    trusts for ``https`` (instead of its default bundle).

    ``token`` (a personal access token) is sent as ``Authorization: Basic`` through git's
    ``GIT_CONFIG_*`` environment variables, for this server only. Two processes fetching the
    same cache take turns (a lock on a sidecar file). Failures raise
    :class:`~bridge.errors.AuthenticationError` (token unknown: the sign-in page, or
    rejected: HTTP 401/403), :class:`~bridge.errors.NotFoundError` (no such repository) or
    :class:`~bridge.errors.AzureDevOpsError`, naming the URL and git's reason; a remote
    without branches raises :class:`~bridge.errors.EmptyRepositoryError`.
    """
    import httpx

    from bridge.azure.endpoints import require_secure
    from bridge.azure.urls import normalize_repository_url

    remote = normalize_repository_url(url)
    require_secure(httpx.URL(remote), allow_http=False, what="the catalog repository URL")
    secret = token if isinstance(token, Secret) or token is None else Secret(token)
    git_remote = _Remote(remote, _authorization(secret) if secret else None, ca_file, timeout)
    root = cache_dir if cache_dir is not None else user_cache_dir() / "git"
    target = root / hashlib.sha256(remote.encode()).hexdigest()
    with _exclusive(target):
        if not (target / "HEAD").exists():
            git_remote.run("init", "--bare", "--quiet", str(target))
        git_dir = f"--git-dir={target}"
        advertised = git_remote.run(git_dir, "ls-remote", "--symref", remote, DEFAULT_REF)
        git_remote.run(
            git_dir,
            "fetch",
            "--prune",
            "--no-tags",
            "--quiet",
            remote,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        )
        for line in advertised.splitlines():
            # "ref: refs/heads/main<TAB>HEAD": the remote's default branch.
            if line.startswith("ref: ") and line.endswith(f"\t{DEFAULT_REF}"):
                branch = line[len("ref: ") :].split("\t")[0]
                git_remote.run(git_dir, "symbolic-ref", DEFAULT_REF, branch)
        if not git_remote.run(git_dir, "for-each-ref", "--count=1", "refs/heads/"):
            raise EmptyRepositoryError(f"cannot read {remote}: the repository has no branches yet")
    return target


def _authorization(token: Secret) -> str:
    """``Basic base64(":" + PAT)``, registered as a secret so that no message shows it."""
    encoded = base64.b64encode(f":{token.reveal()}".encode()).decode()
    register(encoded)
    return f"Basic {encoded}"


@dataclass(frozen=True, slots=True)
class _Remote:
    """Runs git commands against one remote, and explains their failures."""

    url: str
    header: str | None  # the Authorization value
    ca_file: Path | None
    timeout: float

    def environment(self) -> dict[str, str]:
        """The environment git runs in: no prompts, no credential helpers, English
        messages, and the token's header for this server only."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in _GIT_LOCATION_VARIABLES and not name.startswith("GIT_CONFIG_")
        }
        env |= {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"}
        settings = [("credential.helper", ""), ("core.askPass", "")]
        if self.header is not None:
            import httpx

            server = httpx.URL(self.url).copy_with(path="/", query=None)
            settings.append((f"http.{server}.extraHeader", f"Authorization: {self.header}"))
        if self.ca_file is not None:
            # The variable, not http.sslCAInfo: a GIT_SSL_CAINFO already set would win.
            env["GIT_SSL_CAINFO"] = str(self.ca_file)
        env["GIT_CONFIG_COUNT"] = str(len(settings))
        for index, (key, value) in enumerate(settings):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def run(self, *args: str) -> str:
        """Run one git command; its output, or the error that explains its failure."""
        try:
            process = subprocess.Popen(
                ["git", *args],
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # so that a timeout ends git's remote helper too
            )
        except OSError as error:
            reason = f"cannot run git ({error.strerror})"
            raise UsageError(f"cannot fetch {self.url}: {reason}") from None
        try:
            output, errors = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            if sys.platform == "win32":
                process.kill()
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ServiceError(
                f"cannot fetch {self.url}: git did not finish within {self.timeout:g} seconds"
            ) from None
        if process.returncode != 0:
            raise self._error(_git_reason(errors))
        return output

    def _error(self, reason: str) -> AzureDevOpsError:
        """The error for a failed git command, classified by the API client's rules.

        git's words do not tell a sign-in page from a wrong URL, so the server is asked once
        more, for ``info/refs``, and its answer is read like any Azure DevOps answer.
        """
        import httpx

        from bridge.azure.failures import Where, classify, looks_like_html, sign_in_page

        message = f"cannot fetch {self.url}: {reason}"
        verify: ssl.SSLContext | bool = True
        if self.ca_file is not None:
            import ssl

            verify = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            answer = httpx.get(
                f"{self.url}/info/refs",
                params={"service": "git-upload-pack"},
                headers={"Authorization": self.header} if self.header else {},
                verify=verify,
                timeout=self.timeout,
            )
        except (httpx.HTTPError, OSError) as error:
            return ServiceError(f"{message} ({redact(str(error)) or type(error).__name__})")
        where = Where(None)
        if answer.is_success and not looks_like_html(answer):
            return AzureDevOpsError(message, status=answer.status_code)
        if answer.is_success:
            failure = sign_in_page(answer, where)
        else:
            failure = classify(answer, where, scope=_CODE_READ)
        found = failure.error
        if isinstance(found, AuthenticationError):
            return AuthenticationError(
                f"{message}. {found.message}",
                reason=found.reason,
                code=found.code,
                status=found.status,
                hint=found.hint,
            )
        return type(found)(message, code=found.code, status=found.status, hint=found.hint)


def _git_reason(stderr: str) -> str:
    """What git said went wrong: its ``fatal:``/``error:``/``remote:`` lines."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    picked = [line for line in lines if line.startswith(("fatal:", "error:", "remote:"))]
    return redact("; ".join(picked or lines[-1:]) or "git failed without a message")


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold the exclusive lock on the cached repository ``target`` (its sidecar,
    :func:`bridge.sync.lock.lock_file`), waiting for any holder."""
    from bridge.sync.lock import lock_file  # the hooks, which read trees, never fetch

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_file(target, wait=True)
    except OSError as error:
        raise UsageError(f"cannot use the git cache {target.parent}: {error.strerror}") from None
    try:
        yield
    finally:
        lock.release()
