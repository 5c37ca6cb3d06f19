"""Azure DevOps client: organizations, projects, repositories, files, history, search, users.

The public surface:

* :class:`AzureDevOpsClient` - async client for one organization (PAT or Snyk Broker), an
  async context manager whose list methods are async iterators.
* :class:`BrokerSettings` - a Snyk Broker in front of one organization (URL + broker token).
* :class:`RetryPolicy` - how often and how long transient failures are retried.
* :class:`RequestStats` - requests, retries, throttling and pauses counted for a summary.
* :func:`resolve_endpoints` / :class:`OrgEndpoints` - a profile's API URL plus an organization
  resolved to the base URL of each service.
* :func:`normalize_repository_url` / :func:`repository_web_url` - canonical repository links.
* The records the client returns (:class:`Repository`, :class:`FileContent`, ...).

Failures raise the :class:`bridge.errors.AzureDevOpsError` family; no message, log line or
repr contains a token.
"""

from bridge.azure.broker import BrokerSettings
from bridge.azure.client import AzureDevOpsClient
from bridge.azure.endpoints import CLOUD_API_URL, OrgEndpoints, Service, resolve_endpoints
from bridge.azure.models import (
    CodeSearchHit,
    Commit,
    ConnectionData,
    FileContent,
    GraphUser,
    LanguageShare,
    Organization,
    Project,
    ProjectLanguages,
    PullRequest,
    Push,
    Ref,
    RefUpdate,
    Repository,
    RepositoryLanguages,
    Signature,
    UserEntitlement,
    UserEntitlementsPage,
)
from bridge.azure.retry import RetryPolicy
from bridge.azure.stats import RequestStats
from bridge.azure.urls import normalize_repository_url, repository_web_url

__all__ = [
    "CLOUD_API_URL",
    "AzureDevOpsClient",
    "BrokerSettings",
    "CodeSearchHit",
    "Commit",
    "ConnectionData",
    "FileContent",
    "GraphUser",
    "LanguageShare",
    "OrgEndpoints",
    "Organization",
    "Project",
    "ProjectLanguages",
    "PullRequest",
    "Push",
    "Ref",
    "RefUpdate",
    "Repository",
    "RepositoryLanguages",
    "RequestStats",
    "RetryPolicy",
    "Service",
    "Signature",
    "UserEntitlement",
    "UserEntitlementsPage",
    "normalize_repository_url",
    "repository_web_url",
    "resolve_endpoints",
]
