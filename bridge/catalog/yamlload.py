"""Multi-document YAML loading with Backstage's semantics, fast, with positions.

Backstage reads catalog files with npm ``yaml``'s ``parseAllDocuments(text, {merge: false})``.
This module reproduces what matters for verdicts:

* YAML 1.2 core schema (see :mod:`bridge.catalog.scalars`);
* a duplicate key is an error (keys compare by value: ``1`` and ``01`` collide, ``1`` and
  ``"1"`` do not but both become the key ``"1"``);
* ``<<`` is an ordinary key (no merging); non-string keys become strings as in JavaScript;
* empty or comment-only files yield no documents; a bare ``---`` yields an empty one;
* a syntax error spoils only its own document: the others are still read;
* npm ``yaml``'s indentation rules for flow collections and quoted strings, which libyaml
  does not enforce;
* npm ``yaml``'s alias budget (an anchor may be expanded 100 times) stops alias bombs, and a
  nesting limit stops pathological depth.

Parsing uses libyaml's event stream (PyYAML's extension: libyaml 0.2.5+ reads YAML 1.2 flow
scalars such as ``[resource:db]``) and builds plain Python values directly, several times
faster than composing nodes. Each collection's item events are kept in a side table keyed by
the collection's identity, so line and column numbers cost nothing until a problem asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from sys import intern
from typing import Any

from yaml import events as ev
from yaml.error import MarkedYAMLError, YAMLError

from bridge.catalog.jsvalue import js_json, js_string
from bridge.catalog.scalars import TAG_PREFIX, resolve_plain, resolve_plain_11, resolve_tagged

try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

MAX_ALIAS_COUNT = 100  # npm yaml's default maxAliasCount
DEFAULT_MAX_DEPTH = 256

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """Why a document could not be read. ``line``/``column`` are 1-based."""

    rule: str
    message: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Position:
    """Where a value (and, for a mapping entry, its key) starts: 1-based, 0 when no key."""

    line: int
    column: int
    key_line: int
    key_column: int


@dataclass(slots=True)
class YamlDocument:
    """One document of a YAML stream: its value (``None`` when empty) or its problem."""

    index: int
    value: Any
    line: int
    problem: YamlProblem | None = None
    # id(collection) -> its items' events: {key: (key event, value event)} or [value event].
    marks: dict[int, Any] = field(default_factory=dict, repr=False)
    root_event: Any = field(default=None, repr=False)
    line_offset: int = 0  # lines before the text the events were read from
    warnings: tuple[YamlProblem, ...] = ()  # what npm yaml warns about (unknown directives)

    @property
    def empty(self) -> bool:
        """A document with no content (``---`` alone, ``~``), which Backstage ignores."""
        return self.problem is None and self.value is None

    def position(self, path: Path) -> Position | None:
        """Where the value at ``path`` starts (``()``: the document), or None if not there."""
        node = self.value
        event = self.root_event
        key_event = None
        for part in path:
            table = self.marks.get(id(node))
            if table is None:
                return None
            if type(node) is dict:
                entry = table.get(part)
                if entry is None:
                    return None
                key_event, event = entry
            elif type(part) is int and 0 <= part < len(table):
                key_event, event = None, table[part]
            else:
                return None
            node = node[part]
        if event is None:
            return None
        offset = self.line_offset + 1
        mark = event.start_mark
        if key_event is None:
            return Position(mark.line + offset, mark.column + 1, 0, 0)
        key_mark = key_event.start_mark
        return Position(
            mark.line + offset, mark.column + 1, key_mark.line + offset, key_mark.column + 1
        )


class _DocumentError(Exception):
    def __init__(self, rule: str, message: str, mark: Any) -> None:
        super().__init__(message)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.problem = YamlProblem(rule, message, line, column)


class _Anchor:
    """What npm yaml's alias budget needs to know about an anchored node."""

    __slots__ = ("alias_count", "count", "done", "has_scalar", "leaves", "value")

    def __init__(self, value: Any, done: bool) -> None:
        self.value = value
        self.done = done
        self.count = 1
        self.alias_count = 0
        self.has_scalar = done  # an anchored scalar is its own leaf
        self.leaves: list[_Anchor] = []

    def weight(self) -> int:
        # npm yaml's getAliasCount: the heaviest leaf below the node, aliases weighing what
        # their anchor has been expanded to so far.
        heaviest = 1 if self.has_scalar else 0
        for leaf in self.leaves:
            heaviest = max(heaviest, leaf.count * leaf.alias_count)
        return heaviest


# A parent collection's building state, saved while one of its items is built: a plain
# tuple (container, marks, key, key event, key identities, anchor, start event), cheaper to
# make and unpack than any class in the loop that runs for every collection of every file.
_Frame = tuple[Any, Any, Any, Any, set[tuple[str, Any]] | None, _Anchor | None, Any]


_NO_KEY = object()
_QUOTED = ("'", '"')
_STR_TAG = TAG_PREFIX + "str"
# First characters of plain scalars that may resolve to something other than a string.
_TYPED_FIRST = frozenset("~nNtTfF0123456789+-.")
_TYPED_FIRST_11 = _TYPED_FIRST | frozenset("yYoO")


def _event_source(text: str) -> Callable[[], Any]:
    """A function returning the next parser event, or None at the end."""
    if _CParser is not None:
        return _CParser(text).get_event  # type: ignore[no-any-return]
    import yaml  # pragma: no cover - PyYAML without its libyaml extension

    events = yaml.parse(text, Loader=yaml.SafeLoader)  # pragma: no cover
    return lambda: next(events, None)  # pragma: no cover


def _identity(key: Any) -> tuple[str, Any]:
    # JavaScript equality of scalar keys: numbers compare as numbers, never with booleans.
    if isinstance(key, str):
        return ("s", key)
    if isinstance(key, bool):
        return ("b", key)
    if isinstance(key, int | float):
        return ("n", key)
    if key is None:
        return ("z", None)
    return ("o", id(key))


def _flow(value: Any, event: Any, tables: dict[int, Any], text: str) -> str:
    """npm yaml's flow rendering of a collection used as a mapping key.

    npm yaml prints the key's nodes back, so nulls and booleans keep their spelling (``~``,
    ``True``), an entry without a value is its key alone (``{ x }``), and quoted strings
    keep their quotes. ``event`` is the value's event, ``tables`` the document's item events.
    """
    if isinstance(value, list):
        events = tables.get(id(value), ())
        items = [_flow(item, ev, tables, text) for item, ev in zip(value, events, strict=False)]
        return "[ " + ", ".join(items) + " ]" if value else "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        entries = []
        for key, (key_event, value_event) in tables.get(id(value), {}).items():
            entry = _flow(key, key_event, tables, text)
            item = value[key]
            if item is None and value_event.style in ("", None) and value_event.value == "":
                # No value: ``{ x }``, or ``{ x: }`` when the ':' is written.
                if ":" in text[key_event.end_mark.index : value_event.end_mark.index]:
                    entry += ":"
                entries.append(entry)
                continue
            entries.append(f"{entry}: {_flow(item, value_event, tables, text)}")
        return "{ " + ", ".join(entries) + " }"
    if isinstance(value, str):
        style = getattr(event, "style", None)
        if style == '"':
            return js_json(value)
        if style == "'":
            return "'" + value.replace("'", "''") + "'"
        return value if re.fullmatch(r"[\w.-][\w .-]*", value) else js_json(value)
    if (value is None or isinstance(value, bool)) and getattr(event, "style", "x") in ("", None):
        return str(event.value)  # as written: ``~``, ``Null``, ``True``
    return js_string(value)


def _string_key(key: Any, event: Any, tables: dict[int, Any], text: str) -> str:
    if isinstance(key, str):
        return key
    if key is None:
        return ""
    if isinstance(key, list | dict):
        return _flow(key, event, tables, text)
    return js_string(key)


class _FlowIndent:
    """npm yaml's rule for flow collections inside block collections.

    Every line of such a flow collection must be indented more than the enclosing block
    collection; only the closing bracket of the outermost one may sit one column less.
    libyaml does not check this, Backstage's parser refuses such documents.
    """

    __slots__ = ("depth", "line", "required", "start_line")

    def __init__(self, line: Callable[[int], str], required: int, start_line: int) -> None:
        self.line = line
        self.required = required
        self.start_line = start_line
        self.depth = 1

    def check(self, event: Any, depth: int) -> bool:
        """Check an event inside the collection; True when the outermost one just closed."""
        mark = event.start_mark
        closing = depth < 0
        if mark.line != self.start_line and mark.column < self.required:
            first_on_line = not self.line(mark.line)[: mark.column].strip(" ")
            allowed = closing and self.depth == 1 and mark.column == self.required - 1
            if first_on_line and not allowed:
                raise _DocumentError(
                    "yaml-syntax",
                    "a flow collection inside a block collection must be indented more than "
                    f"the block collection (at least {self.required} spaces)",
                    mark,
                )
        self.depth += depth
        return self.depth == 0


_Scalar = ev.ScalarEvent
_MappingStart = ev.MappingStartEvent
_SequenceStart = ev.SequenceStartEvent
_CollectionEnds = (ev.MappingEndEvent, ev.SequenceEndEvent)
_Alias = ev.AliasEvent
_DocumentStart = ev.DocumentStartEvent
_DocumentEnd = ev.DocumentEndEvent


class _Reader:
    """Turns one text's event stream into documents."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.lines: list[str] | None = None
        self.max_depth = max_depth

    def read(self, line_offset: int) -> list[YamlDocument]:
        """Documents of the text; raises YAMLError on a syntax error."""
        get = _event_source(self.text)
        documents: list[YamlDocument] = []
        while (event := get()) is not None:
            if type(event) is not _DocumentStart:
                continue
            line = event.start_mark.line + 1 + line_offset
            document = YamlDocument(len(documents), None, line, line_offset=line_offset)
            try:
                document.value = self._document(get, event.version == (1, 1), document)
            except _DocumentError as error:
                problem = error.problem
                document.problem = YamlProblem(
                    problem.rule, problem.message, problem.line + line_offset, problem.column
                )
                document.marks = {}
                _skip_to_end(get)
            documents.append(document)
        return documents

    def line(self, number: int) -> str:
        """Line ``number`` (0-based) of the text."""
        if self.lines is None:
            self.lines = self.text.split("\n")
        return self.lines[number]

    def _document(self, get: Callable[[], Any], yaml11: bool, document: YamlDocument) -> Any:
        """The value of one document (its start event already read).

        This loop runs for every event of every file, so the collection being built lives
        in local variables (its parents wait in ``stack``) rather than in object attributes.
        """
        resolve = resolve_plain_11 if yaml11 else resolve_plain
        typed_first = _TYPED_FIRST_11 if yaml11 else _TYPED_FIRST
        anchors: dict[str, _Anchor] = {}
        stack: list[_Frame] = []
        # The collection being built (container None: at the document's root).
        container: Any = None
        marks: Any = None
        is_list = False
        key: Any = _NO_KEY
        key_event: Any = None
        identities: set[tuple[str, Any]] | None = None
        anchor: _Anchor | None = None
        start: Any = None  # its start event
        anchored_open = 0  # open collections that carry an anchor (alias budget bookkeeping)
        flow: _FlowIndent | None = None  # set inside a flow collection nested in block context
        while True:
            event = get()
            kind = type(event)
            if kind is _Scalar:
                if flow is not None:
                    flow.check(event, depth=0)
                if not event.style:  # plain: "" from libyaml, None from the pure parser
                    text = event.value
                    tag = event.tag
                    if tag is None:
                        value = resolve(text) if not text or text[0] in typed_first else text
                    elif tag in ("!", _STR_TAG):
                        value = text
                    else:
                        value = resolve_tagged(tag, text)
                else:
                    value = self._styled(event, start, flow)
                if event.anchor is not None:
                    anchors[event.anchor] = _Anchor(value, done=True)
                if anchored_open:
                    _scalar_leaf(stack, anchor)
            elif kind is _MappingStart or kind is _SequenceStart:
                if len(stack) >= self.max_depth:
                    raise _DocumentError(
                        "yaml-depth",
                        f"nesting deeper than {self.max_depth} levels",
                        event.start_mark,
                    )
                new: Any = {} if kind is _MappingStart else []
                new_anchor = None
                if event.anchor is not None:
                    new_anchor = anchors[event.anchor] = _Anchor(new, done=False)
                    anchored_open += 1
                if flow is not None:
                    flow.check(event, depth=1)
                elif event.flow_style and start is not None and not start.flow_style:
                    if key is _NO_KEY and container and start.start_mark.column:
                        self._check_flow_key(event)
                    required = start.start_mark.column + 1
                    flow = _FlowIndent(self.line, required, event.start_mark.line)
                if start is None:
                    document.root_event = event
                stack.append((container, marks, key, key_event, identities, anchor, start))
                is_list = kind is _SequenceStart
                container, marks = new, [] if is_list else {}
                key, key_event, identities, anchor, start = _NO_KEY, None, None, new_anchor, event
                continue
            elif kind in _CollectionEnds:
                if flow is not None and flow.check(event, depth=-1):
                    flow = None
                document.marks[id(container)] = marks
                if anchor is not None:
                    anchor.done = True
                    anchored_open -= 1
                value, event = container, start  # the collection is a value that starts there
                container, marks, key, key_event, identities, anchor, start = stack.pop()
                is_list = type(container) is list
            elif kind is _Alias:
                if flow is not None:
                    flow.check(event, depth=0)
                value = self._expand(anchors, event)
                if anchored_open:
                    # Every open anchored node gets this leaf (npm yaml's getAliasCount walks
                    # the whole subtree of an anchored node).
                    leaf = anchors[event.anchor]
                    for frame_anchor in _open_anchors(stack, anchor):
                        frame_anchor.leaves.append(leaf)
            else:
                continue
            # Add the value to the collection being built (the common cases inline).
            if container is None:
                if document.root_event is None:
                    document.root_event = event
                _skip_to_end(get)
                return value
            if is_list:
                marks.append(event)
                container.append(value)
            elif key is _NO_KEY:
                key, key_event = value, event
            elif type(key) is str and identities is None:
                if key in container:
                    raise _duplicate_key(key_event, marks, self.text)
                # Interned: every entity repeats the same keys, and one object per key
                # makes the parsed documents smaller and quicker to send between processes.
                key = intern(key)
                container[key] = value
                marks[key] = (key_event, event)
                key = _NO_KEY
            else:
                identities = _put(
                    container,
                    marks,
                    identities,
                    key=key,
                    key_event=key_event,
                    value=value,
                    event=event,
                    tables=document.marks,
                    text=self.text,
                )
                key = _NO_KEY

    def _styled(self, event: Any, parent: Any, flow: _FlowIndent | None) -> Any:
        """The value of a quoted or block scalar, after npm yaml's indentation rule.

        ``parent`` is the start event of the collection the scalar is in (None at the root).
        """
        if (
            flow is None
            and parent is not None
            and not parent.flow_style
            and event.style in _QUOTED
            and event.end_mark.line > event.start_mark.line
        ):
            self._check_quoted_indent(event, parent.start_mark.column + 1)
        tag = event.tag
        if tag is None or tag in ("!", _STR_TAG):
            return event.value
        return resolve_tagged(tag, event.value)

    def _check_flow_key(self, event: Any) -> None:
        # npm yaml's parser takes a flow collection that starts a line of an indented block
        # mapping, after its first entry, for a comment and refuses the rest of the line.
        mark = event.start_mark
        implicit = not self.line(mark.line)[: mark.column].strip(" ")  # not after '? '
        if implicit and event.anchor is None and event.tag is None:
            raise _DocumentError("yaml-syntax", "Map comment with trailing content", mark)

    def _check_quoted_indent(self, event: Any, required: int) -> None:
        # npm yaml ends a quoted scalar at a continuation line that is not indented more than
        # the block collection around it (and then misses the closing quote); libyaml reads on.
        for number in range(event.start_mark.line + 1, event.end_mark.line + 1):
            text = self.line(number)
            indent = len(text) - len(text.lstrip(" "))
            if text.strip() and indent < required:
                raise _DocumentError(
                    "yaml-syntax",
                    "a line of this quoted string is not indented more than the collection "
                    f"around it (at least {required} spaces)",
                    event.start_mark,
                )

    @staticmethod
    def _expand(anchors: dict[str, _Anchor], event: Any) -> Any:
        source = anchors.get(event.anchor)
        if source is None:
            raise _DocumentError(
                "yaml-alias",
                f"alias *{event.anchor} refers to an anchor that is not defined before it",
                event.start_mark,
            )
        if not source.done:
            raise _DocumentError(
                "yaml-alias",
                f"alias *{event.anchor} refers to the node that contains it",
                event.start_mark,
            )
        source.count += 1
        if source.alias_count == 0:
            source.alias_count = source.weight()
        if source.count * source.alias_count > MAX_ALIAS_COUNT:
            raise _DocumentError(
                "yaml-alias",
                f"too many alias expansions (more than {MAX_ALIAS_COUNT}): this looks like an "
                "alias bomb",
                event.start_mark,
            )
        return source.value


def _open_anchors(stack: list[_Frame], current: _Anchor | None) -> Iterator[_Anchor]:
    """The anchors of every collection still being built."""
    for frame in stack:
        anchor = frame[5]  # the frame's anchor
        if anchor is not None:
            yield anchor
    if current is not None:
        yield current


def _scalar_leaf(stack: list[_Frame], current: _Anchor | None) -> None:
    for open_anchor in _open_anchors(stack, current):
        open_anchor.has_scalar = True


def _put(
    container: dict[str, Any],
    marks: dict[str, Any],
    identities: set[tuple[str, Any]] | None,
    *,
    key: Any,
    key_event: Any,
    value: Any,
    event: Any,
    tables: dict[int, Any],
    text: str,
) -> set[tuple[str, Any]]:
    """Add an entry whose key is not a plain string (or follows such a key).

    Returns the identities of the keys seen so far, for the duplicate check. ``tables`` and
    ``text`` (the document's item events and source) are for printing a collection key.
    """
    if identities is None:
        # Until now every key was a string: seed the identities from them.
        identities = {("s", k) for k in container}
    identity = _identity(key)
    if identity in identities:
        raise _duplicate_key(key_event, marks, text)
    identities.add(identity)
    string_key = _string_key(key, key_event, tables, text)
    container[string_key] = value
    marks[string_key] = (key_event, event)
    return identities


def _duplicate_key(key_event: Any, marks: dict[str, Any], text: str) -> _DocumentError:
    """npm yaml's duplicate-key error: at the key, or, right after an entry without a value
    on the line above, at the end of that line (where npm yaml's key begins)."""
    error = _DocumentError("yaml-duplicate-key", "Map keys must be unique", key_event.start_mark)
    if marks:
        previous_key, previous_value = next(reversed(marks.values()))
        line = key_event.start_mark.line
        empty = type(previous_value) is _Scalar and not previous_value.style
        if empty and previous_value.value == "" and previous_key.start_mark.line == line - 1:
            above = text.split("\n")[line - 1].rstrip("\r")
            if "#" not in above[previous_key.end_mark.column :]:
                error.problem = replace(error.problem, line=line, column=len(above) + 1)
    return error


def _skip_to_end(get: Callable[[], Any]) -> None:
    """Consume the rest of a document, through its end event."""
    while (event := get()) is not None and type(event) is not _DocumentEnd:
        pass


def _problem_from(error: YAMLError, text: str, offset: int, source: str) -> YamlProblem:
    """The problem for libyaml's error in ``text`` (lines ``offset``… of ``source``).

    Where the situation is recognisable, it is told in npm yaml's words and at its position
    (what Backstage reports); otherwise in libyaml's.
    """
    if isinstance(error, MarkedYAMLError):
        npm = _npm_wording(error, text, offset, source)
        if npm is not None:
            return npm
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if isinstance(error, MarkedYAMLError):
        problem = error.problem or "invalid YAML"
        context = error.context
        message = f"{problem} ({context})" if context else problem
    else:
        message = str(error).splitlines()[0] if str(error) else "invalid YAML"
    if mark is not None:
        return YamlProblem("yaml-syntax", message, mark.line + 1 + offset, mark.column + 1)
    position = getattr(error, "position", 0) or 0
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return YamlProblem("yaml-syntax", message, line + 1 + offset, column + 1)


# npm yaml's token names, for "Unexpected <token> at node end", by first character.
_NPM_TOKENS = {
    "[": "flow-seq-start",
    "{": "flow-map-start",
    "'": "single-quoted-scalar",
    '"': "double-quoted-scalar",
    "*": "alias",
    "&": "anchor",
    "!": "tag",
    "|": "block-scalar",
    ">": "block-scalar",
}

_FLOW_ENDS = {"}": "flow-map-end", "]": "flow-seq-end"}


def _npm_wording(error: MarkedYAMLError, text: str, offset: int, source: str) -> YamlProblem | None:
    """npm yaml's message and position for the libyaml errors real catalogs commonly hit."""
    mark = error.problem_mark
    problem = error.problem or ""
    if mark is None:
        return None
    lines = source.split("\n")
    number = mark.line + offset
    line = lines[number] if number < len(lines) else ""
    char = line[mark.column : mark.column + 1]

    def npm(message: str, line: int = number, column: int = mark.column) -> YamlProblem:
        return YamlProblem("yaml-syntax", message, line + 1, column + 1)

    in_block_scalar = "block scalar" in (error.context or "")  # npm yaml words it otherwise
    if char == "\t" and not line[: mark.column].strip(" \t") and not in_block_scalar:
        return npm("Tabs are not allowed as indentation")  # at a tab in the indentation
    if problem.startswith("found character that cannot start any token"):
        # '%' (a Jinja "{%" in a template), or a reserved indicator.
        if char == "%":
            return npm("Plain value cannot start with directive indicator character %")
        if char in ("@", "`"):
            return npm(f"Plain value cannot start with reserved character {char}")
        return None
    first_on_line = not line[: mark.column].strip(" ")
    node_end = f"Unexpected {_NPM_TOKENS.get(char, 'scalar')} at node end"
    block_level = problem.startswith(("did not find expected key", "did not find expected <"))
    if block_level and char in _FLOW_ENDS:  # a closing bracket without its opening one
        return npm(f'Unexpected {_FLOW_ENDS[char]} token in YAML stream: "{char}"')
    if problem == "did not find expected <document start>":
        if any(earlier.startswith("%") for earlier in lines[offset:number]):
            return npm("Missing directives-end/doc-start indicator line")
        # After the root node on its own line; on the same line, npm yaml's first error
        # depends on what follows (keep libyaml's).
        return npm(node_end) if first_on_line else None
    if problem.startswith("did not find expected key"):
        if first_on_line:  # a key left of its mapping's column
            if char == "-":
                return npm("A block sequence may not be used as an implicit map key", column=0)
            return npm("All mapping items must start at the same column", column=0)
        # Text after a node; if more indented lines follow, npm yaml may read them as one
        # multi-line key (another error): keep libyaml's wording then.
        return None if _continued(lines, number) else npm(node_end)
    if problem.startswith("could not find expected ':'") and error.context_mark is not None:
        key = error.context_mark  # where the key starts
        return npm(
            "Implicit map keys need to be followed by map values", key.line + offset, key.column
        )
    if problem.startswith("mapping values are not allowed"):
        return _nested_mapping(text, offset)
    return None


def _continued(lines: list[str], number: int) -> bool:
    """Whether the next line with content is indented more than line ``number``."""
    indent = len(lines[number]) - len(lines[number].lstrip(" "))
    for line in lines[number + 1 :]:
        content = line.lstrip(" ")
        if content.strip() and not content.startswith("#"):
            return len(line) - len(content) > indent
    return False


def _nested_mapping(text: str, offset: int) -> YamlProblem | None:
    """npm yaml's error for a ':' libyaml does not allow: where the scalar before it starts.

    A value on the same line as its key (``a: b: c``, or a plain value running on to a more
    indented ``key:`` line) is a nested mapping in a compact one; any other scalar before
    the ':' is an implicit key over several lines. The error path only: PyYAML's pure
    scanner gives the tokens libyaml's events do not.
    """
    import yaml

    tokens: list[Any] = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            tokens = [*tokens[-1:], token]
    except YAMLError:
        pass
    if len(tokens) < 2 or not isinstance(tokens[-1], yaml.ScalarToken):
        return None
    before, scalar = tokens
    start = scalar.start_mark
    compact = isinstance(before, yaml.ValueToken) and before.start_mark.line == start.line
    message = (
        "Nested mappings are not allowed in compact mappings"
        if compact
        else "Implicit keys need to be on a single line"
    )
    return YamlProblem("yaml-syntax", message, start.line + 1 + offset, start.column + 1)


_DIRECTIVE = re.compile(r"^%", re.MULTILINE)
_KNOWN_DIRECTIVES = ("%YAML", "%TAG")


def _directives(text: str) -> tuple[str, list[YamlProblem], list[int]]:
    """Lines starting with '%' read as npm yaml does, for libyaml; and the warnings.

    Between documents (before the first, after a ``...``) such a line is a directive:
    npm yaml ignores an unknown one with a warning, and directives that no document follows.
    libyaml refuses unknown directives, so they are replaced: by nothing, or by a harmless
    ``%TAG`` when a document follows without ``---`` (so that libyaml, like npm yaml, asks
    for it). Inside a document such a line is a plain value starting with '%', an error for
    npm yaml but a directive for libyaml: its '%' becomes a character libyaml refuses at
    the same place (reported in npm yaml's words, see ``_npm_wording``); those lines are
    returned too.
    """
    lines = text.split("\n")
    warnings = []
    between = True  # before the first document, or after '...'
    pending: list[int] = []  # directive lines waiting for their document
    unknown: set[int] = set()
    refused: list[int] = []  # '%' lines inside a document
    for number, line in enumerate(lines):
        if not between:
            if _DOCUMENT_END.match(line):
                between = True
            elif line.startswith("%"):
                lines[number] = "`" + line[1:]
                refused.append(number)
            continue
        if line.startswith("%"):
            name = line.split()[0]  # a comment needs a blank before its '#'
            pending.append(number)
            if name not in _KNOWN_DIRECTIVES:
                unknown.add(number)
                warnings.append(
                    YamlProblem("yaml-directive", f"Unknown directive {name}", number + 1, 1)
                )
        elif line.strip(" \t\r") and not line.lstrip(" \t").startswith("#"):
            if _DOCUMENT_END.match(line):
                continue
            for directive in pending:
                if directive in unknown:
                    # A unique handle: libyaml refuses a %TAG handle given twice.
                    lines[directive] = (
                        "" if _DOCUMENT_START.match(line) else f"%TAG !cb{directive}! tag:cb"
                    )
            pending = []
            between = False
    for directive in pending:  # no document follows: npm yaml ignores them
        lines[directive] = ""
    return "\n".join(lines), warnings, refused


_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_LINES = re.compile(r"[^\n]*\n|[^\n]+$")  # only LF ends a line, as for libyaml's marks
_DOCUMENT_END = re.compile(r"^\.\.\.(?=[ \t\r\n]|$)", re.MULTILINE)
# Lines that do not make a document: blank, comments, directives.
_NO_CONTENT = re.compile(r"[ \t\r\n]*(?:#|%|$)")


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Split a stream at document markers: (line offset, text) per would-be document."""
    lines = _LINES.findall(text)
    start = 0
    content = False  # whether the would-be document has more than directives and comments
    for number, line in enumerate(lines):
        if content and _DOCUMENT_START.match(line):
            yield start, "".join(lines[start:number])
            start = number
        elif _DOCUMENT_END.match(line):
            yield start, "".join(lines[start : number + 1])
            start = number + 1
            content = False
            continue
        content = content or not _NO_CONTENT.match(line)
    if start < len(lines):
        yield start, "".join(lines[start:])


# Characters npm yaml keeps as text but libyaml refuses (C0/C1 controls) or treats as line
# breaks (NEL, LS, PS: breaks in YAML 1.1 only). They are swapped for private-use characters
# while parsing and swapped back in the values.
_LIBYAML_REFUSES = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_PRIVATE_USE = 0xF0000


def _shield(text: str) -> tuple[str, dict[str, str]]:
    found = sorted(set(_LIBYAML_REFUSES.findall(text)))
    swaps = {}
    code = _PRIVATE_USE
    for char in found:
        while chr(code) in text:
            code += 1
        swaps[char] = chr(code)
        code += 1
    return text.translate({ord(k): v for k, v in swaps.items()}), {v: k for k, v in swaps.items()}


def _unshield(value: Any, table: dict[int, str], marks: dict[int, Any], out: dict[int, Any]) -> Any:
    """``value`` with the swapped characters restored; ``out`` gets the re-keyed marks."""
    if isinstance(value, str):
        return value.translate(table)
    if isinstance(value, list):
        items = [_unshield(item, table, marks, out) for item in value]
        if id(value) in marks:
            out[id(items)] = marks[id(value)]
        return items
    if isinstance(value, dict):
        old_marks = marks.get(id(value), {})
        mapping: dict[str, Any] = {}
        new_marks = {}
        for key, item in value.items():
            restored = key.translate(table)
            mapping[restored] = _unshield(item, table, marks, out)
            if key in old_marks:
                new_marks[restored] = old_marks[key]
        out[id(mapping)] = new_marks
        return mapping
    return value


def _read(text: str, max_depth: int, source: str) -> list[YamlDocument]:
    """The documents of ``text``: ``source`` as written, for the error messages."""
    if _LIBYAML_REFUSES.search(text):
        shielded, back = _shield(text)
        table = {ord(k): v for k, v in back.items()}
        documents = _read(shielded, max_depth, source)
        for document in documents:
            marks: dict[int, Any] = {}
            document.value = _unshield(document.value, table, document.marks, marks)
            document.marks = marks
        return documents
    try:
        return _Reader(text, max_depth).read(0)
    except YAMLError:
        pass
    # A syntax error stops libyaml for the rest of the stream; Backstage (npm yaml) still
    # reads the other documents, so read the stream again one document at a time.
    documents = []
    for offset, chunk in _chunks(text):
        for document in _read_chunk(chunk, offset, max_depth, source):
            document.index = len(documents)
            documents.append(document)
    return documents


def _read_chunk(chunk: str, offset: int, max_depth: int, source: str) -> list[YamlDocument]:
    """The documents of one would-be document's text, or the document with its problem."""
    while True:
        try:
            return _Reader(chunk, max_depth).read(offset)
        except YAMLError as error:
            blanked = _without_tab_line(error, chunk)
            if blanked is None:
                problem = _problem_from(error, chunk, offset, source)
                return [YamlDocument(0, None, offset + 1, problem)]
            chunk = blanked  # one tab fewer: this ends


def _without_tab_line(error: YAMLError, text: str) -> str | None:
    """``text`` without the line libyaml stopped at, if that line is blank for npm yaml.

    A line of only blanks (and maybe a comment) that starts with a tab is refused by libyaml
    but is an empty line for npm yaml, except inside a block scalar. Only on the error path:
    valid files never pay for it.
    """
    mark = getattr(error, "problem_mark", None)
    if mark is None or "block scalar" in (getattr(error, "context", None) or ""):
        return None
    lines = text.split("\n")
    if mark.line >= len(lines):
        return None
    line = lines[mark.line]
    if "\t" not in line or line.lstrip(" \t")[:1] not in ("", "#", "\r"):
        return None
    lines[mark.line] = ""
    return "\n".join(lines)


def _valid_at(documents: list[YamlDocument], line: int) -> bool:
    """Whether the document that holds ``line`` (1-based) was read without a problem."""
    holder = None
    for document in documents:
        if document.line > line:
            break
        holder = document
    return holder is not None and holder.problem is None


def parse_documents(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> list[YamlDocument]:
    """Every document of a YAML stream, each with its value or its problem."""
    if _DIRECTIVE.search(text) is None:  # nearly every catalog file
        return _read(text, max_depth, text)
    prepared, warnings, refused = _directives(text)
    documents = _read(prepared, max_depth, text)
    # A refused '%' that libyaml accepted was inside a quoted string: put it back.
    accepted = [number for number in refused if _valid_at(documents, number + 1)]
    if accepted:
        lines = prepared.split("\n")
        for number in accepted:
            lines[number] = "%" + lines[number][1:]
        documents = _read("\n".join(lines), max_depth, text)
    for warning in warnings:  # npm yaml gives it to the document that follows
        for document in documents:
            if document.line > warning.line:
                document.warnings = (*document.warnings, warning)
                break
    return documents
