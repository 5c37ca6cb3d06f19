"""Catalog-file templates: Jinja2, sandboxed and strict, in Backstage's skeleton syntax.

Templates are written like the ``catalog-info.yaml`` skeletons of Backstage software
templates: ``${{ values.name }}`` inserts a value, ``{% if %}``/``{% for %}`` and ``{# #}`` work
as in Nunjucks, and a line starting with ``#%`` is a statement too (``#% if values.server``),
which YAML reads as a comment, so a template stays a valid catalog file on its own.

Every value is written for a double-quoted YAML scalar (``name: "${{ values.name }}"``):
backslashes, quotes and control characters are escaped, so ``a: b #c``, ``yes`` or ``0123``
stay the strings they are. ``| dump`` (Nunjucks' filter) writes a complete double-quoted
scalar for a value put outside quotes. An undefined value is an error, not an empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bridge.errors import InputError

TEMPLATE_FILE = "catalog-info.yaml"
"""A template is ``<templates>/<template name>/catalog-info.yaml``."""

# Characters a YAML double-quoted scalar may not hold as they are: the quote and backslash,
# C0/C1 controls (NEL is a YAML line break), DEL, the Unicode line and paragraph separators,
# the BOM, lone surrogates.
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]')


class TemplateError(InputError):
    """A template that cannot be read, parsed or rendered (names the file and line)."""


class _Scalar(str):
    """A complete YAML scalar (from ``| dump``): written as it is, not escaped again."""

    __slots__ = ()


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in '"\\':
        return "\\" + char
    code = ord(char)
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def quoted_content(value: str) -> str:
    """``value`` escaped for the inside of a YAML double-quoted scalar."""
    return _NEEDS_ESCAPE.sub(_escape, value)


def dump(value: Any) -> _Scalar:
    """Nunjucks' ``dump``: a value as a complete scalar (strings double-quoted)."""
    if isinstance(value, str):
        return _Scalar(f'"{quoted_content(value)}"')
    return _Scalar(json.dumps(value, ensure_ascii=False))


def _finalize(value: Any) -> str:
    if isinstance(value, _Scalar):
        return value
    if value is None:
        return ""
    return quoted_content(value if isinstance(value, str) else str(value))


def environment(loader: jinja2.BaseLoader | None = None) -> ImmutableSandboxedEnvironment:
    """The Jinja environment templates are rendered with (sandboxed, strict, skeleton
    syntax, values escaped for double-quoted YAML scalars)."""
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        variable_start_string="${{",
        variable_end_string="}}",
        line_statement_prefix="#%",
        line_comment_prefix="##",
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dump"] = dump
    return env


@dataclass(frozen=True, slots=True)
class Template:
    """One compiled template."""

    name: str
    path: Path
    compiled: jinja2.Template

    def render(self, values: Mapping[str, Any]) -> str:
        """The template's text with ``values`` (a :class:`TemplateError` names the line)."""
        try:
            return self.compiled.render(values=values)
        except jinja2.TemplateError as error:
            line = _error_line(error)
            raise TemplateError(f"{self.path}{line}: cannot render: {error}") from None


def _error_line(error: jinja2.TemplateError) -> str:
    line = getattr(error, "lineno", None)
    if line is None:
        # Runtime errors (undefined values) carry the line in the traceback of the template.
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.endswith(TEMPLATE_FILE):
                line = tb.tb_lineno
            tb = tb.tb_next
    return f":{line}" if line else ""


class TemplateSet:
    """The templates of a folder: ``<folder>/<name>/catalog-info.yaml``, compiled on use."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise TemplateError(f"{folder}: the templates folder does not exist")
        self.folder = folder
        self._env = environment(jinja2.FileSystemLoader(folder))
        self._compiled: dict[str, Template] = {}

    def names(self) -> list[str]:
        """The templates the folder holds, sorted."""
        return sorted(p.parent.name for p in self.folder.glob(f"*/{TEMPLATE_FILE}"))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (self.folder / name / TEMPLATE_FILE).is_file()

    def get(self, name: str) -> Template:
        """The template ``name`` (a :class:`TemplateError` when absent or not valid Jinja)."""
        if name in self._compiled:
            return self._compiled[name]
        path = self.folder / name / TEMPLATE_FILE
        if name not in self:
            known = ", ".join(self.names()) or "none"
            raise TemplateError(f"{path}: no template {name!r} (templates: {known})")
        try:
            compiled = self._env.get_template(f"{name}/{TEMPLATE_FILE}")
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"{path}:{error.lineno}: not a valid template: {error}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise TemplateError(f"{path}: cannot read: {error}") from None
        template = Template(name, path, compiled)
        self._compiled[name] = template
        return template
