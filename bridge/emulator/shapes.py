"""JSON shapes shared by several routes: project and repository references, identities, commits.

Field names and order follow the live service (reference §7.2, §7.3, §7.5), not the older
spec examples.
"""

from __future__ import annotations

from typing import Any

from bridge.emulator.estate import Project, PullRequest, Repository
from bridge.emulator.history import Commit
from bridge.emulator.identity import Identity, Signature, format_timestamp
from bridge.emulator.links import Links

_COMMENT_LIMIT = 100  # listings cut long or multi-line messages and say so


def project_ref(project: Project, links: Links) -> dict[str, Any]:
    """A ``TeamProjectReference``."""
    shape: dict[str, Any] = {"id": project.id, "name": project.name}
    if project.description:
        shape["description"] = project.description
    shape.update(
        url=links.project(project),
        state="wellFormed",
        revision=project.revision,
        visibility=project.visibility,
    )
    if project.last_update_time is not None:
        shape["lastUpdateTime"] = format_timestamp(project.last_update_time)
    return shape


def repository(repo: Repository, links: Links, *, with_links: bool = False) -> dict[str, Any]:
    """A ``GitRepository`` as listed (``defaultBranch`` absent when empty, ``isFork`` on forks)."""
    shape: dict[str, Any] = {
        "id": repo.id,
        "name": repo.name,
        "url": links.repository(repo),
        "project": project_ref(repo.project, links),
    }
    if repo.default_branch is not None:
        shape["defaultBranch"] = "refs/heads/" + repo.default_branch
    shape.update(
        size=repo.size,
        remoteUrl=links.remote(repo),
        sshUrl=links.ssh(repo),
        webUrl=links.web(repo),
        isDisabled=repo.is_disabled,
        isInMaintenance=False,
    )
    if repo.is_fork:
        shape["isFork"] = True
    if with_links:
        url = shape["url"]
        shape["_links"] = {
            "self": {"href": url},
            "project": {"href": shape["project"]["url"]},
            "web": {"href": shape["webUrl"]},
            "ssh": {"href": shape["sshUrl"]},
            "commits": {"href": f"{url}/commits"},
            "refs": {"href": f"{url}/refs"},
            "pullRequests": {"href": f"{url}/pullRequests"},
            "items": {"href": f"{url}/items"},
            "pushes": {"href": f"{url}/pushes"},
        }
    return shape


def identity_ref(identity: Identity, links: Links) -> dict[str, Any]:
    """An ``IdentityRef`` (creators, pushers, reviewers)."""
    return {
        "displayName": identity.display_name,
        "url": links.identity(identity.id),
        "id": identity.id,
        "uniqueName": identity.email,
        "imageUrl": f"{links.collection_url}/_api/_common/identityImage?id={identity.id}",
        "descriptor": identity.descriptor,
    }


def signature(sig: Signature) -> dict[str, str]:
    """A ``GitUserDate``."""
    return {
        "name": sig.name,
        "email": sig.email,
        "date": format_timestamp(sig.date, fraction=False),
    }


def commit_ref(
    commit: Commit, repo: Repository, links: Links, *, full_comment: bool = False
) -> dict[str, Any]:
    """A ``GitCommitRef`` as commit listings show it."""
    shape: dict[str, Any] = {
        "commitId": commit.commit_id,
        "author": signature(commit.author),
        "committer": signature(commit.committer),
    }
    comment = commit.message
    first_line = comment.split("\n", 1)[0]
    if not full_comment and (
        first_line != comment.rstrip("\n") or len(first_line) > _COMMENT_LIMIT
    ):
        shape["comment"] = first_line[:_COMMENT_LIMIT]
        shape["commentTruncated"] = True
    else:
        shape["comment"] = comment
    shape.update(
        changeCounts=commit.change_counts(),
        url=f"{links.repository(repo)}/commits/{commit.commit_id}",
        remoteUrl=f"{links.web(repo)}/commit/{commit.commit_id}",
    )
    return shape


def pull_request(pr: PullRequest, repo: Repository, links: Links) -> dict[str, Any]:
    """A ``GitPullRequest``."""
    repo_url = links.repository(repo)
    url = f"{repo_url}/pullRequests/{pr.pull_request_id}"
    return {
        "repository": repository(repo, links),
        "pullRequestId": pr.pull_request_id,
        "codeReviewId": pr.pull_request_id,
        "status": pr.status,
        "createdBy": identity_ref(pr.created_by, links),
        "creationDate": format_timestamp(pr.creation_date),
        "title": pr.title,
        "description": pr.description,
        "sourceRefName": pr.source_ref,
        "targetRefName": pr.target_ref,
        "mergeStatus": "queued",
        "isDraft": pr.is_draft,
        "mergeId": pr.merge_id,
        "lastMergeSourceCommit": {
            "commitId": pr.source_commit,
            "url": f"{repo_url}/commits/{pr.source_commit}",
        },
        "lastMergeTargetCommit": {
            "commitId": pr.target_commit,
            "url": f"{repo_url}/commits/{pr.target_commit}",
        },
        "reviewers": [
            {
                "reviewerUrl": f"{url}/reviewers/{reviewer}",
                "vote": 0,
                "hasDeclined": False,
                "isFlagged": False,
                "id": reviewer,
            }
            for reviewer in pr.reviewer_ids
        ],
        "labels": [{"name": label, "active": True} for label in pr.labels],
        "url": url,
        "_links": {
            "self": {"href": url},
            "repository": {"href": repo_url},
            "workItems": {"href": f"{url}/workitems"},
            "sourceBranch": {"href": f"{repo_url}/refs"},
            "targetBranch": {"href": f"{repo_url}/refs"},
            "statuses": {"href": f"{url}/statuses"},
            "sourceCommit": {"href": f"{repo_url}/commits/{pr.source_commit}"},
            "targetCommit": {"href": f"{repo_url}/commits/{pr.target_commit}"},
            "createdBy": {"href": links.identity(pr.created_by.id)},
            "iterations": {"href": f"{url}/iterations"},
        },
        "supportsIterations": True,
        "artifactId": (
            f"vstfs:///Git/PullRequestId/{repo.project.id}%2f{repo.id}%2f{pr.pull_request_id}"
        ),
    }
