"""The values of a generated catalog file, each with where it came from.

Everything is read from the repository entities sync produced (plus the projects' teams):
no value is made up. Where nothing says who owns a repository, the owner stays unknown and
the repository is reported rather than given an invented owner.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bridge.azure.models import Team
from bridge.config import GenerateSettings, TemplateRule, TypeRule
from bridge.generate.names import backstage_name

# Languages that say little about what a repository builds: never its main language.
_DATA_LANGUAGES = frozenset({"yaml", "json", "markdown", "xml", "text", "ini", "toml", "csv"})
# A repository whose main language is one of these is a website.
WEB_LANGUAGES = frozenset({"html", "css", "scss", "sass", "less", "vue", "svelte", "astro"})
# Repository names that say "library".
LIBRARY_PATTERNS = ("*-lib", "*-library", "*-sdk", "lib-*", "*-common", "*-shared", "*-utils")
# Hosts of Azure DevOps Services: the Backstage plugins need no host-org annotation there.
_CLOUD_HOSTS = ("dev.azure.com",)
_LEGACY_CLOUD_SUFFIX = ".visualstudio.com"


@dataclass(frozen=True)
class Provenance:
    """An inferred value and where it came from (``"config: generate.owners.Payments"``,
    ``"teams: Payments Team (default team)"``, ``"siblings: 3 of 4 catalog files"``...).
    ``value`` is None when nothing gave one."""

    value: str | None
    source: str


def main_language(languages: Mapping[str, int] | None) -> str | None:
    """The language with the most bytes, data formats (YAML, JSON, Markdown...) aside."""
    for name, _ in sorted((languages or {}).items(), key=lambda item: (-item[1], item[0])):
        if name.lower() not in _DATA_LANGUAGES:
            return name
    return None


def _matches(
    entity: Mapping[str, Any],
    language: str | None,
    *,
    project: str | None,
    name: str | None,
    languages: Sequence[str],
) -> bool:
    if project is not None and project.lower() != str(entity["project"]).lower():
        return False
    if name is not None and not fnmatch.fnmatchcase(entity["name"].lower(), name.lower()):
        return False
    wanted = {item.lower() for item in languages}
    return not wanted or (language is not None and language.lower() in wanted)


def _rule_matches(entity: Mapping[str, Any], language: str | None, rule: TypeRule) -> bool:
    return _matches(
        entity, language, project=rule.project, name=rule.name, languages=rule.languages
    )


def _template_rule_matches(
    entity: Mapping[str, Any], language: str | None, rule: TemplateRule
) -> bool:
    languages = () if rule.language is None else (rule.language,)
    return _matches(entity, language, project=rule.project, name=rule.name, languages=languages)


def infer_type(entity: Mapping[str, Any], settings: GenerateSettings) -> Provenance:
    """``spec.type``: the profile's type rules, then the main language and the name."""
    language = main_language(entity.get("languages"))
    for index, rule in enumerate(settings.type_rules):
        if _rule_matches(entity, language, rule):
            return Provenance(rule.type, f"config: generate.type_rules[{index}]")
    if language is not None and language.lower() in WEB_LANGUAGES:
        return Provenance("website", f"languages: main language {language}")
    name = entity["name"].lower()
    for pattern in LIBRARY_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return Provenance("library", f"name: matches {pattern}")
    if language is not None:
        return Provenance("service", f"languages: main language {language}")
    return Provenance("service", "fallback: no language metrics")


def choose_template(
    entity: Mapping[str, Any],
    settings: GenerateSettings,
    available: Container[str],
    inferred_type: str | None,
) -> Provenance:
    """The template: the profile's first matching rule, else the one named after the
    inferred type, else the profile's default template."""
    language = main_language(entity.get("languages"))
    for index, rule in enumerate(settings.rules):
        if _template_rule_matches(entity, language, rule):
            return Provenance(rule.template, f"config: generate.rules[{index}]")
    if inferred_type is not None and inferred_type in available:
        return Provenance(inferred_type, f"type: {inferred_type}")
    return Provenance(settings.default_template, "config: generate.default_template")


def infer_lifecycle(entity: Mapping[str, Any], settings: GenerateSettings) -> Provenance:
    """``spec.lifecycle`` from the repository's freshness (``generate.lifecycle``)."""
    freshness = entity.get("freshness") or "n/a"
    committed = entity.get("last_commit_at")
    when = f"last commit {committed}" if committed else "no commit read"
    return Provenance(settings.lifecycle.get(freshness), f"freshness: {freshness} ({when})")


def _team_ref(team: Team) -> str | None:
    name = backstage_name(team.name)
    return f"group:default/{name}" if name else None


def sibling_owners(entities: Sequence[Mapping[str, Any]]) -> Mapping[tuple[str, str], Counter[str]]:
    """Per (organization, project): how many valid catalog files name each owner."""
    owners: dict[tuple[str, str], Counter[str]] = {}
    for entity in entities:
        counter = owners.setdefault((entity["organization"], entity["project"]), Counter())
        for entry in entity.get("context") or ():
            owner = entry.get("owner")
            if isinstance(owner, str) and owner:
                counter[owner] += 1
    return owners


def infer_owner(
    entity: Mapping[str, Any],
    settings: GenerateSettings,
    teams: Sequence[Team],
    siblings: Counter[str],
) -> Provenance:
    """``spec.owner``: the profile's project → group mapping, else the project's teams
    (default team first), else the owner most sibling catalog files name, else the profile's
    fallback; else None (never a made-up name)."""
    project = str(entity["project"])
    configured = settings.owners.get(project.lower())
    if configured is not None:
        return Provenance(configured, f"config: generate.owners.{project}")
    for index, team in enumerate(teams):
        ref = _team_ref(team)
        if ref is not None:
            which = "default team" if index == 0 else "a team of the project"
            return Provenance(ref, f"teams: {team.name} ({which})")
    if siblings:
        total = sum(siblings.values())
        owner, count = min(siblings.items(), key=lambda item: (-item[1], item[0]))
        return Provenance(owner, f"siblings: {count} of {total} catalog files")
    if settings.fallback_owner is not None:
        return Provenance(settings.fallback_owner, "config: generate.fallback_owner")
    return Provenance(None, "no owner could be inferred")


def infer_system(entity: Mapping[str, Any], settings: GenerateSettings) -> Provenance:
    """``spec.system``: the profile's project → system mapping, else the project's name."""
    project = str(entity["project"])
    configured = settings.systems.get(project.lower())
    if configured is not None:
        return Provenance(configured, f"config: generate.systems.{project}")
    return Provenance(backstage_name(project) or None, f"project: {project}")


def server_of(url: str | None) -> str | None:
    """The host (with any virtual directory, ``ado.example.com/tfs``) of a repository web
    URL on an Azure DevOps Server; None for Azure DevOps Services."""
    if not url:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _CLOUD_HOSTS or host.endswith(_LEGACY_CLOUD_SUFFIX):
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if "_git" not in segments:
        return None
    # .../<virtual directory>/<organization>/<project>/_git/<repository>
    before_org = segments[: max(segments.index("_git") - 2, 0)]
    return "/".join([parts.netloc, *before_org])


def infer_values(
    entity: Mapping[str, Any],
    settings: GenerateSettings,
    teams: Sequence[Team],
    siblings: Counter[str],
) -> dict[str, Provenance]:
    """Every inferred value of one repository but its name (see ``names``) and template."""
    repository, project = str(entity["name"]), str(entity["project"])
    organization = str(entity["organization"])
    url = entity.get("url")
    server = server_of(url)
    return {
        "title": Provenance(repository, "azure: repository name"),
        "description": Provenance(
            f"The {repository} repository of the {project} project in Azure DevOps.",
            "azure: repository and project names",
        ),
        "type": infer_type(entity, settings),
        "lifecycle": infer_lifecycle(entity, settings),
        "owner": infer_owner(entity, settings, teams, siblings),
        "system": infer_system(entity, settings),
        "project_repo": Provenance(f"{project}/{repository}", "azure: project and repository"),
        "host_org": Provenance(
            None if server is None else f"{server}/{organization}",
            "azure: repository web URL"
            + (" (Azure DevOps Services: not needed)" if server is None else ""),
        ),
        "source_location": Provenance(
            f"url:{url.rstrip('/')}/" if url else None, "azure: repository web URL"
        ),
    }
