"""The emulator application: one pure async ``handle(request) -> response``.

The order of checks follows the service: injected latency and faults, token (203/401),
route (404/405), organization, PAT scope, throttling, api-version, project, then the handler.
Admin routes under ``/_emulator/`` (stats, reset, health) skip all of it and are not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from bridge.emulator import api_errors
from bridge.emulator.api_errors import ApiError
from bridge.emulator.auth import identify, token_value, unauthorized
from bridge.emulator.context import Context, is_guid
from bridge.emulator.estate import Estate
from bridge.emulator.faults import Fault, FaultInjector
from bridge.emulator.git_http import GitAddress, GitMirrors, split_git_path
from bridge.emulator.messages import Disruption, Request, Response, json_response
from bridge.emulator.options import EmulatorOptions
from bridge.emulator.ratelimit import Admission, RateLimiter
from bridge.emulator.routes import Address, Match, Route, find_route, split_path
from bridge.emulator.stats import Stats
from bridge.emulator.versions import check_version

UNMATCHED = "unmatched"
GIT_ROUTE = "git.smartHttp"  # the stats name of every request to Git's smart HTTP protocol
NO_ANSWER = 0  # the status counted for a connection closed without an answer


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EmulatorApp:
    """Serves an :class:`~bridge.emulator.estate.Estate` the way Azure DevOps would.

    ``stats`` counts requests by route name and status, and how many were being answered at
    once (from arrival until the answer is ready, so never more than a client had in flight).
    ``now`` dates pushes and pull requests (injectable for tests).
    """

    def __init__(
        self,
        estate: Estate,
        options: EmulatorOptions | None = None,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.estate = estate
        self.options = options or EmulatorOptions()
        self.stats = Stats()
        self._now = now
        self._faults = FaultInjector(self.options.faults)
        limits = self.options.rate_limit
        self._limiter = RateLimiter(limits) if limits is not None else None
        self.git_mirrors = GitMirrors()

    def close(self) -> None:
        """Release what the app holds on disk (the Git mirrors)."""
        self.git_mirrors.close()

    async def handle(self, request: Request) -> Response:
        """Answer one request (the socket layer and the in-process transport both call this)."""
        segments = request.segments
        if segments and segments[0] == "_emulator":
            return self._admin(request, segments[1:])
        options = self.options
        onprem = options.layout == "onprem"
        vdir = options.virtual_directory
        git = split_git_path(segments, onprem=onprem, virtual_directory=vdir)
        address = split_path(segments, onprem=onprem, virtual_directory=vdir)
        found = find_route(request.method, address) if address is not None else None
        name = found.route.name if isinstance(found, Match) else UNMATCHED
        name = GIT_ROUTE if git is not None else name
        self.stats.request_started()
        try:
            response = await self._with_faults(request, name, address, found, git)
        finally:
            self.stats.request_finished()
        self.stats.record(
            name, NO_ANSWER if response.disruption is Disruption.RESET else response.status
        )
        return response

    async def _with_faults(
        self,
        request: Request,
        name: str,
        address: Address | None,
        found: Match | Route | None,
        git: GitAddress | None,
    ) -> Response:
        faults = self._faults
        fault: Fault | None = None
        if faults.applies_to(name, request.path):
            delay = faults.latency()
            if delay > 0:
                await asyncio.sleep(delay)
            fault = faults.draw()
        if fault is not None:
            self.stats.record_fault(fault.value)
            if fault is Fault.SERVER_ERROR:
                return faults.server_error()
            if fault is Fault.RESET:
                return Response(NO_ANSWER, disruption=Disruption.RESET)
        response = await self._respond(request, address, found, git)
        return faults.disrupt(fault, response) if fault is not None else response

    async def _respond(
        self,
        request: Request,
        address: Address | None,
        found: Match | Route | None,
        git: GitAddress | None,
    ) -> Response:
        if git is not None and token_value(request) is None:
            # Git clients send credentials only after a 401 challenge (credential helpers,
            # prompts), so Git paths challenge a request without any; tokens sent and not
            # recognised still get the sign-in page.
            return unauthorized(request)
        caller = identify(request, self.estate)
        if isinstance(caller, Response):
            return caller
        if git is not None:
            return await self.git_mirrors.serve(request, caller, self.estate, git)
        if address is None or found is None:
            return api_errors.not_found(
                f"The resource '{request.path}' cannot be found.", "HttpException"
            ).response()
        if isinstance(found, Route):
            return ApiError(
                405,
                f"The requested resource does not support http method '{request.method}'.",
                "HttpException",
            ).response()
        organization = None
        if address.organization is not None:
            organization = self.estate.organization(address.organization)
            if organization is None:
                return api_errors.not_found(
                    f"The organization '{address.organization}' does not exist.",
                    "HostNotFoundException",
                ).response()
            if not caller.can_see(organization.name):
                return unauthorized(request)
        route = found.route
        if route.scope is not None and not caller.has_scope(route.scope):
            return unauthorized(request)
        admission = await self._throttle(caller.name)
        if admission.refusal is not None:
            return admission.refusal
        try:
            context = Context(
                request=request,
                estate=self.estate,
                token=caller,
                api_version=check_version(
                    request,
                    preview_only=route.preview_only,
                    ceiling=self.options.ceiling,
                    preview_ceiling=self.options.preview_ceiling,
                ),
                now=self._now,
                options=self.options,
                organization=organization,
                params=found.params,
            )
            if address.project is not None and organization is not None:
                context.project = organization.project(address.project)
                if context.project is None:
                    raise api_errors.project_not_found(
                        address.project, by_id=is_guid(address.project)
                    )
            response = route.handler(context)
        except ApiError as error:
            response = error.response()
        response.headers += admission.headers
        return response

    async def _throttle(self, identity: str) -> Admission:
        if self._limiter is None:
            return Admission()
        admission = self._limiter.admit(identity)
        if admission.delay > 0:
            self.stats.record_delay()
            await asyncio.sleep(admission.delay)
        return admission

    def _admin(self, request: Request, segments: list[str]) -> Response:
        """``GET /_emulator/stats``, ``POST /_emulator/stats/reset``, ``GET /_emulator/health``."""
        if request.method == "GET" and segments == ["stats"]:
            return json_response(self.stats.snapshot())
        if request.method == "POST" and segments == ["stats", "reset"]:
            self.stats.reset()
            return json_response(self.stats.snapshot())
        if request.method == "GET" and segments == ["health"]:
            return json_response({"status": "ok"})
        return api_errors.not_found(f"No emulator admin route '{request.path}'.").response()
