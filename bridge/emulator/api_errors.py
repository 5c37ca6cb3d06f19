"""Azure DevOps error answers: the JSON error body and the errors the emulator raises.

Handlers raise :class:`ApiError`; the app turns it into the documented body
(``$id, innerException, message, typeName, typeKey, errorCode, eventId``) whose message
starts with the ``TFnnnnnn:``/``VSnnnnnn:`` code.
"""

from __future__ import annotations

from bridge.emulator.messages import Response, json_response

_GIT = "Microsoft.TeamFoundation.Git.Server"
_VSS = "Microsoft.VisualStudio.Services.WebApi"


class ApiError(Exception):
    """An error answer: HTTP status, message and .NET exception type."""

    def __init__(
        self,
        status: int,
        message: str,
        type_key: str,
        type_name: str | None = None,
        *,
        event_id: int = 3000,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type_key = type_key
        self.type_name = type_name or f"{_VSS}.{type_key}, {_VSS}"
        self.event_id = event_id

    def response(self) -> Response:
        """The JSON error response."""
        body = {
            "$id": "1",
            "innerException": None,
            "message": self.message,
            "typeName": self.type_name,
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": self.event_id,
        }
        return json_response(body, self.status)


def _git(status: int, message: str, type_key: str) -> ApiError:
    return ApiError(status, message, type_key, f"{_GIT}.{type_key}, {_GIT}")


def repository_not_found(name_or_id: str) -> ApiError:
    """TF401019: unknown, invisible or disabled repository."""
    return _git(
        404,
        f"TF401019: The Git repository with name or identifier {name_or_id} does not exist "
        "or you do not have permissions for the operation you are attempting.",
        "GitRepositoryNotFoundException",
    )


def project_not_found(name_or_id: str, *, by_id: bool) -> ApiError:
    """TF200016 (by name) or VS800075 (by id)."""
    if by_id:
        return ApiError(
            404,
            f"VS800075: The project with id 'vstfs:///Classification/TeamProject/{name_or_id}' "
            "does not exist, or you do not have permission to access it.",
            "ProjectDoesNotExistException",
            "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistException, "
            "Microsoft.TeamFoundation.Core.WebApi",
        )
    return ApiError(
        404,
        f"TF200016: The following project does not exist: {name_or_id}. Verify that the name "
        "of the project is correct and that the project exists on the specified Azure DevOps "
        "Server.",
        "ProjectDoesNotExistWithNameException",
        "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, "
        "Microsoft.TeamFoundation.Core.WebApi",
    )


def item_not_found(path: str, repository: str, version: str, commit_id: str) -> ApiError:
    """TF401174: the file does not exist at that version."""
    return _git(
        404,
        f"TF401174: The item '{path}' could not be found in the repository '{repository}' at "
        f"the version specified by '{version}' (resolved to commit '{commit_id}')",
        "GitItemNotFoundException",
    )


def version_unresolvable(kind: str, version: str, repository: str) -> ApiError:
    """TF401175: a branch, tag or commit that does not exist (spacing as the service sends)."""
    return _git(
        404,
        f"TF401175:The version descriptor <{kind}: {version} > could not be resolved to a "
        f"version in the repository {repository}",
        "GitUnresolvableToCommitException",
    )


def no_branches(repository: str, *, status: int = 404) -> ApiError:
    """VS403403: the repository is empty (404 for items, 400 for branch stats)."""
    message = f"VS403403: Cannot find any branches for the {repository} repository."
    if status == 400:
        return invalid_argument(message)
    return _git(status, message, "GitItemNotFoundException")


def stale_ref(ref: str) -> ApiError:
    """TF401028: a push based on an outdated ref tip."""
    return _git(
        409,
        f"TF401028: The reference '{ref}' has already been updated by another client, so you "
        "cannot update it. Please try again.",
        "GitReferenceStaleException",
    )


def push_rejected_by_policy() -> ApiError:
    """TF402455: a direct push to a protected branch."""
    return _git(
        403,
        "TF402455: Pushes to this branch are not permitted; you must use a pull request to "
        "update this branch.",
        "GitRefUpdateRejectedByPolicyException",
    )


def duplicate_pull_request() -> ApiError:
    """TF401179: an active pull request for the same source and target exists."""
    return _git(
        409,
        "TF401179: An active pull request for the source and target branch already exists.",
        "GitPullRequestExistsException",
    )


def internal_error(status: int = 500) -> ApiError:
    """TF400898: the service failed (the emulator itself, or an injected 5xx)."""
    return ApiError(status, "TF400898: An Internal Error Occurred.", "InternalServerErrorException")


def invalid_argument(message: str) -> ApiError:
    """A 400 ``System.ArgumentException`` (what the service answers for bad arguments)."""
    return ApiError(
        400, message, "ArgumentException", "System.ArgumentException, mscorlib", event_id=0
    )


def bad_request(message: str, type_key: str = "InvalidArgumentValueException") -> ApiError:
    """A 400 for malformed input."""
    return ApiError(400, message, type_key)


def not_found(message: str, type_key: str = "ResourceNotFoundException") -> ApiError:
    """A 404 that has no dedicated Azure DevOps code."""
    return ApiError(404, message, type_key)
