"""Format-preserving YAML round trip, for features that edit users' catalog files.

``load`` parses a YAML stream into ruamel.yaml round-trip trees (one :class:`RoundTripDocument`
per document) plus everything about the file's formatting that ruamel.yaml itself would lose;
``dump`` serialises the (possibly edited) trees again. For an unchanged file the output is
byte-identical to the input; after an edit only the lines that hold the edit change.

What ruamel.yaml keeps by itself: comments, quotes (``preserve_quotes``), anchors and aliases,
block scalars, tags and directives. What this module adds on top, each explicitly:

* per-document indentation (mapping indent, sequence indent, dash offset), detected from the
  document and fed back to the emitter; line width is unlimited, so nothing is re-wrapped;
* line breaks inside multi-line plain and quoted scalars, kept with the scalar value;
* the spelling of nulls and booleans (``~``, ``Null``, ``True``, ...);
* the spacing of one-line flow collections (``[ a, b ]``, ``['a','b']``), per document;
* ``---`` / ``...`` markers, empty documents, comments before ``---`` and blank lines at the
  end of a document;
* the text envelope: UTF-8 BOM, CRLF line endings, trailing whitespace on lines and whether
  the file ends with a newline. YAML ignores these, so they are recorded per line and put back
  on every output line whose content is unchanged.

This is the write path only. Validation uses the fast C loader elsewhere; ruamel.yaml's
round-trip machinery is imported on first use so that importing this module stays cheap.
"""

from __future__ import annotations

import difflib
import functools
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ruamel.yaml import YAML

__all__ = ["DocumentLayout", "RoundTripDocument", "RoundTripError", "RoundTripFile", "dump", "load"]

_BOM = "\ufeff"
# A large width instead of "infinite": ruamel.yaml only honours widths it can compare.
_WIDTH = 1 << 30
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# YAML 1.2 spellings, plus the YAML 1.1 ones that a "%YAML 1.1" document reads as booleans.
_BOOLS = {
    **dict.fromkeys(
        ("true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True
    ),
    **dict.fromkeys(("false", "False", "FALSE", "n", "N", "no", "No", "NO"), False),
    **dict.fromkeys(("off", "Off", "OFF"), False),
}
# Attribute under which a collection keeps the original spelling of its null/boolean items.
_SPELLINGS = "_bridge_spellings"


class RoundTripError(InputError):
    """The text is not YAML that ruamel.yaml can load (names line and column)."""


@dataclass
class DocumentLayout:
    """How one document was written, as far as ruamel.yaml's emitter can be told.

    Indents are ruamel.yaml's (``YAML.indent``). ``explicit_start`` asks ruamel.yaml to write
    ``---``; a loaded document keeps a plain ``---`` line in its ``header`` instead, and only
    documents with directives leave it to ruamel.yaml. ``explicit_end`` writes ``...``.
    ``version`` and ``tags`` are the ``%YAML`` and ``%TAG`` directives. One-line flow
    collections are "padded" (``[ a ]``) and/or "compact" (``a,b``) as most of them were.
    """

    mapping_indent: int = 2
    sequence_indent: int = 2
    sequence_dash_offset: int = 0
    explicit_start: bool = False
    explicit_end: bool = False
    version: tuple[int, int] | None = None
    tags: dict[str, str] | None = None
    flow_sequence_padded: bool = False
    flow_sequence_compact: bool = False
    flow_mapping_padded: bool = False
    flow_mapping_compact: bool = False
    root_spelling: str | None = None  # how a document whose root is a plain scalar wrote it


@dataclass
class RoundTripDocument:
    """One YAML document: its ruamel.yaml tree plus the text around it that ruamel drops.

    ``data`` is a ``CommentedMap``/``CommentedSeq``/scalar to edit in place or replace.
    ``header`` holds the comment and blank lines before the document and its plain ``---``
    line, ``footer`` the blank and comment lines after its last node (before any ``...``).
    """

    data: Any
    layout: DocumentLayout = field(default_factory=DocumentLayout)
    header: str = ""
    footer: str = ""
    empty: bool = False  # a document without content ("---" alone); ``data`` is then None


@dataclass
class RoundTripFile:
    """A whole YAML stream as loaded by :func:`load`, ready for :func:`dump`.

    Besides the documents it records the text envelope: a UTF-8 BOM, whether line breaks are
    mostly CRLF (lines the edit adds get CRLF too), whether the text ends with a line break,
    and each original line's trailing whitespace.
    """

    documents: list[RoundTripDocument]
    bom: bool = False
    crlf: bool = False
    final_newline: bool = True
    # The file's lines (content, trailer) where trailer is the trailing whitespace and "\r".
    lines: list[tuple[str, str]] = field(default_factory=list, repr=False)


def load(text: str) -> RoundTripFile:
    """Parse ``text`` (a whole file, decoded as UTF-8 with any BOM kept) for editing.

    Raises :class:`RoundTripError` when ruamel.yaml cannot load the text.
    """
    bom = text.startswith(_BOM)
    raw = text.removeprefix(_BOM)
    source = raw.replace("\r\n", "\n")
    lines = [_split_trailer(line) for line in raw.split("\n")]
    crlf_count = raw.count("\r\n")
    result = RoundTripFile(
        documents=[],
        bom=bom,
        crlf=crlf_count > 0 and crlf_count * 2 >= raw.count("\n"),
        final_newline=raw.endswith("\n"),
        lines=lines,
    )
    machinery = _machinery()
    try:
        spans = _document_spans(machinery, source)
        result.documents = [_load_document(machinery, source, span) for span in spans]
    except machinery.yaml_error as error:
        raise RoundTripError(f"not loadable as YAML: {_one_line(error)}") from error
    if not spans and source:
        # A stream of comments only: keep them as the header of a document-less file.
        result.documents = [RoundTripDocument(data=None, header=source, empty=True)]
    return result


def dump(stream: RoundTripFile) -> str:
    """Serialise ``stream`` (as returned by :func:`load`, maybe edited) back to text."""
    machinery = _machinery()
    text = "".join(_dump_document(machinery, document) for document in stream.documents)
    if not stream.final_newline and text.endswith("\n"):
        text = text[:-1]
    text = _restore_trailers(text, stream.lines, "\r" if stream.crlf else "")
    return (_BOM if stream.bom else "") + text


# ---------------------------------------------------------------------------------------------
# The text envelope


def _split_trailer(line: str) -> tuple[str, str]:
    content = line.rstrip(" \t\r")
    return content, line[len(content) :]


def _restore_trailers(text: str, original: list[tuple[str, str]], default_cr: str) -> str:
    """Put each original line's trailing whitespace and "\\r" back where its content survives."""
    produced = text.split("\n")
    contents = [line.rstrip(" \t") for line in produced]
    matcher = difflib.SequenceMatcher(None, [c for c, _ in original], contents, autojunk=False)
    out = [line + default_cr for line in produced]
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            out[block.b + offset] = contents[block.b + offset] + original[block.a + offset][1]
    # An empty last piece is what follows the final line break: nothing, not even a "\r".
    if not produced[-1]:
        out[-1] = ""
    return "\n".join(out)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


# ---------------------------------------------------------------------------------------------
# Splitting a stream into documents


@dataclass
class _Span:
    """Where one document sits in the (LF-normalised) source."""

    start: int  # first character of the document's text (after the previous document)
    body_start: int  # after the header
    body_end: int  # after the line holding the last node
    footer_end: int  # before the "..." line, if any
    end: int  # after the "..." line, or where the next document starts
    layout: DocumentLayout
    empty: bool


def _document_spans(machinery: _Machinery, source: str) -> list[_Span]:
    events = machinery.events
    spans: list[_Span] = []
    start = 0
    layout = DocumentLayout()
    content_end: int | None = None
    marker_end = 0
    flows: list[bool] = []
    roots: list[Any] = []
    for event in machinery.parse(source):
        if isinstance(event, events.DocumentStartEvent):
            if event.explicit and spans and not spans[-1].layout.explicit_end:
                # The previous document ended implicitly: it ends where this one's "---" starts.
                spans[-1].end = spans[-1].footer_end = _line_start(source, event.start_mark.index)
                start = spans[-1].end
            layout = DocumentLayout(
                explicit_start=bool(event.explicit),
                version=tuple(event.version) if event.version else None,
                tags=dict(event.tags) if event.tags else None,
            )
            marker_end = _after(source, event.end_mark) if event.explicit else start
            header_end = _header_end(source, start)
            if layout.explicit_start and not (layout.version or layout.tags):
                rest = source[event.end_mark.index : marker_end].strip()
                if not rest or rest.startswith("#"):
                    # ruamel.yaml misplaces a comment after "---": keep the line as written.
                    header_end, layout.explicit_start = _header_end(source, marker_end), False
            content_end, roots = None, []
        elif isinstance(event, events.DocumentEndEvent):
            layout.explicit_end = bool(event.explicit)
            empty = _is_empty(events, roots)
            if not empty and isinstance(roots[0], events.ScalarEvent) and not roots[0].style:
                layout.root_spelling = roots[0].value
            body_end = max(header_end, marker_end) if empty or content_end is None else content_end
            end = _after(source, event.end_mark) if event.explicit else len(source)
            footer_end = _line_start(source, event.start_mark.index) if event.explicit else end
            spans.append(_Span(start, header_end, body_end, footer_end, end, layout, empty))
            start = end
        elif isinstance(event, events.StreamStartEvent | events.StreamEndEvent):
            continue
        else:
            if not flows:
                roots.append(event)
            if isinstance(event, events.CollectionStartEvent):
                flows.append(bool(event.flow_style))
                continue
            # The end of a block collection is reported at the next token, after any comments.
            if isinstance(event, events.CollectionEndEvent) and not flows.pop():
                continue
            content_end = _after(source, event.end_mark)
    return spans


def _is_empty(events: Any, roots: list[Any]) -> bool:
    """Whether a document's root is the implicit empty scalar of a document with no content."""
    if len(roots) != 1:
        return False
    root = roots[0]
    return (
        isinstance(root, events.ScalarEvent)
        and root.value == ""
        and not root.style
        and root.anchor is None
        and root.implicit[0]
    )


def _line_start(source: str, index: int) -> int:
    return source.rfind("\n", 0, index) + 1


def _line_end(source: str, index: int) -> int:
    """The index after the line break that ends the line holding ``source[index]``."""
    newline = source.find("\n", index)
    return len(source) if newline < 0 else newline + 1


def _after(source: str, mark: Any) -> int:
    """The end of the line holding the last character before ``mark`` (an end mark)."""
    return _line_end(source, max(mark.index - 1, 0))


def _header_end(source: str, start: int) -> int:
    """The end of the comment and blank lines that open a document's text."""
    position = start
    while position < len(source):
        end = _line_end(source, position)
        stripped = source[position:end].strip()
        if stripped and not stripped.startswith("#"):
            break
        position = end
    return position


def _load_document(machinery: _Machinery, source: str, span: _Span) -> RoundTripDocument:
    body = source[span.body_start : span.body_end]
    document = RoundTripDocument(
        data=None,
        layout=span.layout,
        header=source[span.start : span.body_start],
        footer=source[span.body_end : span.footer_end],
        empty=span.empty,
    )
    if span.empty:
        return document
    yaml = machinery.new_yaml(span.layout)
    document.data = yaml.load(body)
    layout = document.layout
    _detect_indentation(machinery, document.data, layout)
    flows: Counter[str] = yaml.constructor.flow_styles
    layout.flow_sequence_padded = _majority(flows, "seq-padded", "seq-tight")
    layout.flow_sequence_compact = _majority(flows, "seq-compact", "seq-spaced")
    layout.flow_mapping_padded = _majority(flows, "map-padded", "map-tight")
    layout.flow_mapping_compact = _majority(flows, "map-compact", "map-spaced")
    return document


def _majority(counts: Counter[str], yes: str, no: str) -> bool:
    return counts[yes] > counts[no]


def _detect_indentation(machinery: _Machinery, data: Any, layout: DocumentLayout) -> None:
    """Set the layout's indents to the ones most used in ``data`` (its nested block nodes)."""
    mapping: Counter[int] = Counter()
    sequence: Counter[int] = Counter()
    offset: Counter[int] = Counter()
    commented_map, commented_seq = machinery.commented_map, machinery.commented_seq

    def block(node: Any) -> bool:
        return isinstance(node, commented_map | commented_seq) and bool(node) and not flow(node)

    def flow(node: Any) -> bool:
        return bool(node.fa.flow_style())

    def walk(node: Any) -> None:
        if isinstance(node, commented_map):
            for key, value in node.items():
                if not block(value):
                    continue
                key_line, key_column = node.lc.key(key)
                if isinstance(value, commented_map):
                    line, column = value.lc.key(next(iter(value)))
                    if line > key_line:
                        mapping[column - key_column] += 1
                elif value.lc.line > key_line:
                    offset[value.lc.col - key_column] += 1
                    sequence[value.lc.item(0)[1] - key_column] += 1
                walk(value)
        elif isinstance(node, commented_seq):
            for item in node:
                walk(item)

    if block(data):
        walk(data)
    if mapping:
        layout.mapping_indent = mapping.most_common(1)[0][0]
    if sequence:
        layout.sequence_indent = sequence.most_common(1)[0][0]
        layout.sequence_dash_offset = offset.most_common(1)[0][0]
    else:
        # No nested block sequence to learn from: keep ruamel.yaml's own pairing.
        layout.sequence_indent = layout.mapping_indent


def _dump_document(machinery: _Machinery, document: RoundTripDocument) -> str:
    layout = document.layout
    parts = [document.header]
    if document.empty and document.data is None:
        parts.append("---\n" if layout.explicit_start else "")
    else:
        yaml = machinery.new_yaml(layout)
        yaml.indent(
            mapping=layout.mapping_indent,
            sequence=layout.sequence_indent,
            offset=layout.sequence_dash_offset,
        )
        yaml.explicit_start = layout.explicit_start
        yaml.version = layout.version
        yaml.tags = layout.tags
        buffer = io.StringIO()
        yaml.dump(document.data, buffer)
        parts.append(buffer.getvalue())
    parts.append(document.footer)
    if layout.explicit_end:
        parts.append("...\n")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Line breaks inside plain and quoted scalars


def _folds(source: str, style: str | None, value: str) -> tuple[tuple[int, int, str], ...]:
    """Where a multi-line flow scalar broke its lines: ``(start, end, layout)`` triples.

    ``value[start:end]`` (one space, or one newline per blank line) was written as the line
    breaks and indentation in ``layout``. Empty when the breaks cannot be told apart from
    escapes (double-quoted text with backslashes): such a scalar is written on one line.
    """
    inner = source[1:-1] if style else source
    if style == '"' and "\\" in inner:
        return ()
    lines = inner.split("\n")
    pieces = [lines[0].rstrip(" \t")]
    folds: list[tuple[int, int, str]] = []
    rebuilt = _unquote(pieces[0], style)
    blank = 0
    for number, line in enumerate(lines[1:], start=1):
        stripped = line.strip(" \t")
        if not stripped and number < len(lines) - 1:
            blank += 1
            continue
        separator = "\n" * blank if blank else " "
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        folds.append((len(rebuilt), len(rebuilt) + len(separator), "\n" * (blank + 1) + indent))
        rebuilt += separator + _unquote(stripped, style)
        blank = 0
    return tuple(folds) if rebuilt == value else ()


def _unquote(piece: str, style: str | None) -> str:
    return piece.replace("''", "'") if style == "'" else piece


# ---------------------------------------------------------------------------------------------
# ruamel.yaml, extended (built on first use: importing the round-trip machinery is slow)


@dataclass(frozen=True)
class _Machinery:
    new_yaml: Callable[[DocumentLayout], YAML]
    parse: Callable[[str], Iterable[Any]]
    events: Any
    yaml_error: type[Exception]
    commented_map: type[Any]
    commented_seq: type[Any]


@functools.cache
def _machinery() -> _Machinery:
    from ruamel.yaml import YAML, events
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.emitter import RoundTripEmitter
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    class FoldedPlain(str):
        __slots__ = ("folds",)

    class FoldedSingleQuoted(SingleQuotedScalarString):
        __slots__ = ("folds",)

    class FoldedDoubleQuoted(DoubleQuotedScalarString):
        __slots__ = ("folds",)

    folded_types: dict[str | None, type[Any]] = {
        None: FoldedPlain,
        "'": FoldedSingleQuoted,
        '"': FoldedDoubleQuoted,
    }

    def spelling(node: Any) -> str | None:
        """The text of a plain null or boolean scalar, to be written the same way again."""
        plain = isinstance(node, ScalarNode) and not node.style
        if plain and (node.value in _NULLS or node.value in _BOOLS):
            return str(node.value)
        return None

    class Constructor(RoundTripConstructor):
        """Records what the tree alone does not say: folds, spellings, flow spacing."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.flow_styles: Counter[str] = Counter()

        def construct_scalar(self, node: Any) -> Any:
            value = super().construct_scalar(node)
            if (
                isinstance(value, str)
                and node.anchor is None
                and node.style in folded_types
                and node.start_mark.line != node.end_mark.line
            ):
                source = node.start_mark.buffer[node.start_mark.index : node.end_mark.index]
                folds = _folds(source, node.style, value)
                if folds:
                    folded = folded_types[node.style](value)
                    folded.folds = folds
                    return folded
            return value

        # ruamel.yaml's round-trip constructor itself adds ``maptyp`` to this signature.
        def construct_mapping(  # type: ignore[override]
            self, node: Any, maptyp: Any, deep: bool = False
        ) -> Any:
            result = super().construct_mapping(node, maptyp, deep=deep)
            spellings = {
                key.value: text
                for key, value in node.value
                if isinstance(key, ScalarNode) and (text := spelling(value)) is not None
            }
            if spellings:
                setattr(maptyp, _SPELLINGS, spellings)
            self._count_flow(node, "map", [part for pair in node.value for part in pair])
            return result

        def construct_rt_sequence(self, node: Any, seqtyp: Any, deep: bool = False) -> Any:
            result = super().construct_rt_sequence(node, seqtyp, deep=deep)
            spellings = {
                index: text
                for index, item in enumerate(node.value)
                if (text := spelling(item)) is not None
            }
            if spellings:
                setattr(seqtyp, _SPELLINGS, spellings)
            self._count_flow(node, "seq", node.value)
            return result

        def _count_flow(self, node: Any, kind: str, parts: list[Any]) -> None:
            """Count how a one-line flow collection spaces its brackets and commas."""
            if not node.flow_style or not parts or node.start_mark.line != node.end_mark.line:
                return
            source = node.start_mark.buffer
            opening = parts[0].start_mark.index - node.start_mark.index - 1
            closing = node.end_mark.index - 1 - parts[-1].end_mark.index
            padded = opening > 0 and closing > 0
            self.flow_styles[f"{kind}-padded" if padded else f"{kind}-tight"] += 1
            step = 2 if kind == "map" else 1
            for previous, following in zip(
                parts[step - 1 :: step], parts[step::step], strict=False
            ):
                gap = source[previous.end_mark.index : following.start_mark.index]
                if gap.strip() == ",":
                    compact = gap.startswith(",") and not gap[1:]
                    self.flow_styles[f"{kind}-compact" if compact else f"{kind}-spaced"] += 1

    class Representer(RoundTripRepresenter):
        """Writes nulls and booleans the way they were spelled, if still the same value."""

        def represent_mapping(self, tag: Any, mapping: Any, flow_style: Any = None) -> Any:
            node = super().represent_mapping(tag, mapping, flow_style)
            spellings: dict[Any, str] = getattr(mapping, _SPELLINGS, {})
            for key_node, value_node in node.value if spellings else ():
                key = key_node.value if isinstance(key_node, ScalarNode) else None
                if key in spellings and key in mapping:
                    _respell(value_node, mapping[key], spellings[key])
            return node

        def represent_sequence(self, tag: Any, sequence: Any, flow_style: Any = None) -> Any:
            node = super().represent_sequence(tag, sequence, flow_style)
            spellings: dict[int, str] = getattr(sequence, _SPELLINGS, {})
            for index, text in spellings.items():
                if index < len(sequence):
                    _respell(node.value[index], sequence[index], text)
            return node

        def represent_none(self, data: Any) -> Any:
            return self._represent_root(super().represent_none(data), data)

        def represent_bool(self, data: Any, anchor: Any = None) -> Any:
            return self._represent_root(super().represent_bool(data, anchor), data)

        def _represent_root(self, node: Any, data: Any) -> Any:
            # Nothing has been represented yet only while representing the root itself.
            spelled = self.dumper.layout.root_spelling
            if not self.represented_objects and spelled is not None:
                _respell(node, data, spelled)
            return node

    def _respell(node: Any, value: Any, text: str) -> None:
        if not isinstance(node, ScalarNode):
            return
        if (value is None and text in _NULLS) or (
            isinstance(value, bool) and _BOOLS.get(text) is value
        ):
            node.value = text

    # Representers are looked up in a table filled with the base class's functions.
    Representer.add_representer(type(None), Representer.represent_none)
    Representer.add_representer(bool, Representer.represent_bool)
    Representer.add_representer(FoldedPlain, RoundTripRepresenter.represent_str)
    Representer.add_representer(
        FoldedSingleQuoted, RoundTripRepresenter.represent_single_quoted_scalarstring
    )
    Representer.add_representer(
        FoldedDoubleQuoted, RoundTripRepresenter.represent_double_quoted_scalarstring
    )

    class Emitter(RoundTripEmitter):
        """Honours a document's flow spacing and the recorded line breaks of scalars."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.layout: DocumentLayout = kwargs["dumper"].layout

        def _pad(self) -> None:
            self.stream.write(" ")
            self.column += 1
            self.whitespace = True

        def _compact(self) -> bool:
            if self.flow_context and self.flow_context[-1] == "[":
                return self.layout.flow_sequence_compact
            return self.layout.flow_mapping_compact

        def write_indicator(
            self,
            indicator: Any,
            need_whitespace: Any,
            whitespace: bool = False,
            indention: bool = False,
        ) -> None:
            # A compact separator ("a,b") claims the following space for itself.
            if indicator == "," and self.flow_context and self._compact():
                whitespace = True
            super().write_indicator(indicator, need_whitespace, whitespace, indention)

        def expect_first_flow_sequence_item(self) -> None:
            if self.layout.flow_sequence_padded and not isinstance(
                self.event, events.SequenceEndEvent
            ):
                self._pad()
            super().expect_first_flow_sequence_item()

        def expect_flow_sequence_item(self) -> None:
            if self.layout.flow_sequence_padded and isinstance(self.event, events.SequenceEndEvent):
                self._pad()
            super().expect_flow_sequence_item()

        def expect_first_flow_mapping_key(self) -> None:
            if (
                self.layout.flow_mapping_padded
                and self.flow_context[-1] == "{"
                and not isinstance(self.event, events.MappingEndEvent)
            ):
                self._pad()
            super().expect_first_flow_mapping_key()

        def expect_flow_mapping_key(self) -> None:
            if (
                self.layout.flow_mapping_padded
                and self.flow_context[-1] == "{"
                and isinstance(self.event, events.MappingEndEvent)
            ):
                self._pad()
            super().expect_flow_mapping_key()

        def expect_document_start(self, first: bool = False) -> None:
            # "..." after an open-ended root scalar is written by dump() if the file had it.
            if isinstance(self.event, events.StreamEndEvent):
                self.open_ended = False
            super().expect_document_start(first)

        def choose_scalar_style(self) -> Any:
            if isinstance(self.event.value, FoldedPlain) and not self.simple_key_context:
                return ""
            return super().choose_scalar_style()

        def write_plain(self, text: Any, split: Any = True) -> None:
            if not self._write_folded(text, ""):
                super().write_plain(text, split)

        def write_single_quoted(self, text: Any, split: Any = True) -> None:
            if not self._write_folded(text, "'"):
                super().write_single_quoted(text, split)

        def write_double_quoted(self, text: Any, split: Any = True) -> None:
            if not self._write_folded(text, '"'):
                super().write_double_quoted(text, split)

        def _write_folded(self, text: Any, quote: str) -> bool:
            folds = getattr(text, "folds", None)
            if not folds or self.simple_key_context or self.root_context:
                return False
            if quote:
                self.write_indicator(quote, True)
            elif not self.whitespace:
                self._pad()
            # Continuation lines must stay deeper than the enclosing block, wherever it is now.
            minimum = self.indent or 0
            position = 0
            for start, end, layout in folds:
                self._write_text(_escape(text[position:start], quote))
                breaks, _, indent = layout.rpartition("\n")
                for _ in range(len(breaks) + 1):
                    self.write_line_break()
                self._write_text(indent if len(indent) >= minimum else " " * minimum)
                position = end
            self._write_text(_escape(text[position:], quote))
            if quote:
                self.write_indicator(quote, False)
            self.whitespace = self.indention = False
            return True

        def _write_text(self, data: str) -> None:
            self.stream.write(data)
            self.column += len(data)

    class LayoutYAML(YAML):
        """A YAML instance that carries the layout its emitter must follow."""

        def __init__(self, layout: DocumentLayout) -> None:
            super().__init__()
            self.layout = layout

    def new_yaml(layout: DocumentLayout) -> YAML:
        yaml = LayoutYAML(layout)
        yaml.Constructor = Constructor
        yaml.Representer = Representer
        yaml.Emitter = Emitter
        yaml.preserve_quotes = True
        yaml.width = _WIDTH
        return yaml

    return _Machinery(
        new_yaml=new_yaml,
        parse=YAML().parse,
        events=events,
        yaml_error=YAMLError,
        commented_map=CommentedMap,
        commented_seq=CommentedSeq,
    )


def _escape(piece: str, quote: str) -> str:
    return piece.replace("'", "''") if quote == "'" else piece
