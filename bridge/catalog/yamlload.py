"""Multi-document YAML loading with Backstage's semantics, fast, with positions on demand.

Backstage reads catalog files with npm ``yaml``'s ``parseAllDocuments(text, {merge: false})``.
This module reproduces what matters for verdicts:

* YAML 1.2 core schema (see :mod:`bridge.catalog.scalars`);
* a duplicate key is an error (keys compare by value: ``1`` and ``01`` collide, ``1`` and
  ``"1"`` do not but both become the key ``"1"``);
* ``<<`` is an ordinary key (no merging); non-string keys become strings as in JavaScript;
* empty or comment-only files yield no documents; a bare ``---`` yields an empty one;
* a syntax error spoils only its own document: the others are still read;
* npm ``yaml``'s alias budget (an anchor may be expanded 100 times) stops alias bombs, and a
  nesting limit stops pathological depth.

Parsing uses libyaml's event stream (``ruamel.yaml.clib``) and builds plain Python values
directly, which is several times faster than composing nodes. Line and column numbers are not
kept on that fast path: :func:`locate` re-reads one document with position tracking, which is
only needed when a problem must be reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import events as ev
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bridge.catalog.jsvalue import js_json, js_string
from bridge.catalog.scalars import TAG_PREFIX, resolve_plain, resolve_plain_11, resolve_tagged

try:
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # pragma: no cover - platforms without the libyaml accelerator
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


@dataclass(slots=True)
class YamlDocument:
    """One document of a YAML stream: its value (``None`` when empty) or its problem."""

    index: int
    value: Any
    line: int
    problem: YamlProblem | None = None

    @property
    def empty(self) -> bool:
        """A document with no content (``---`` alone, ``~``), which Backstage ignores."""
        return self.problem is None and self.value is None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a value (and, for a mapping entry, its key) starts. 1-based."""

    line: int
    column: int
    key_line: int
    key_column: int


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


class _Frame:
    """A collection being built."""

    __slots__ = (
        "anchor",
        "column",
        "container",
        "flow",
        "identities",
        "in_key",
        "is_list",
        "key",
        "key_event",
        "path_key",
    )

    def __init__(
        self,
        container: Any,
        *,
        anchor: _Anchor | None,
        path_key: str | int | None,
        in_key: bool,
        column: int,
        flow: bool,
    ) -> None:
        self.container = container
        self.column = column  # a block collection's indentation
        self.flow = flow
        self.is_list = type(container) is list
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_event: Any = None
        self.identities: set[tuple[str, Any]] | None = None
        self.path_key = path_key
        self.in_key = in_key  # inside a collection used as a mapping key: no path of its own


_NO_KEY = object()
_QUOTED = ("'", '"')
_PLAIN = ("", None)  # the style of plain scalars (libyaml: "", pure-Python parser: None)


def _event_source(text: str, pure: bool) -> Callable[[], Any]:
    """A function returning the next parser event, or None at the end."""
    if _CParser is not None and not pure:
        return _CParser(text).get_event  # type: ignore[no-any-return]
    from ruamel.yaml.main import YAML

    events = iter(YAML(typ="safe", pure=True).parse(text))
    return lambda: next(events, None)


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


def _flow(value: Any) -> str:
    """npm yaml's flow rendering of a collection used as a mapping key."""
    if isinstance(value, list):
        return "[ " + ", ".join(_flow(item) for item in value) + " ]" if value else "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return value if re.fullmatch(r"[\w.-][\w .-]*", value) else js_json(value)
    return js_string(value)


def _string_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None:
        return ""
    if isinstance(key, list | dict):
        return _flow(key)
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
    """Turns one event stream into documents (values, or positions when tracking)."""

    def __init__(self, max_depth: int, track: int | None) -> None:
        self._text = ""
        self._lines: list[str] | None = None
        self.max_depth = max_depth
        # Index of the document whose positions are wanted (None: fast path, no positions).
        self.track = track
        self.positions: dict[Path, Position] = {}

    def read(self, text: str, line_offset: int) -> list[YamlDocument]:
        """Documents of ``text``; raises YAMLError on a syntax error.

        libyaml implements YAML 1.1's syntax, which refuses some YAML 1.2 forms Backstage
        accepts (``[resource:db]``: a colon inside a flow sequence). ruamel.yaml's own parser
        knows YAML 1.2; it is slower, so it only gets the texts libyaml refuses.
        """
        self._text = text
        self._lines = None
        try:
            return self._read(_event_source(text, pure=False), line_offset)
        except YAMLError as error:
            if _CParser is None:
                raise
            refused = error
        try:
            return self._read(_event_source(text, pure=True), line_offset)
        except Exception:  # ruamel's parser also fails with assertions on odd directives
            raise refused from None

    def _read(self, get: Callable[[], Any], line_offset: int) -> list[YamlDocument]:
        documents: list[YamlDocument] = []
        while (event := get()) is not None:
            if type(event) is not _DocumentStart:
                continue
            index = len(documents)
            line = event.start_mark.line + 1 + line_offset
            try:
                value = self._document(get, event.version == (1, 1), index)
            except _DocumentError as error:
                problem = error.problem
                problem = YamlProblem(
                    problem.rule, problem.message, problem.line + line_offset, problem.column
                )
                while (skipped := get()) is not None and type(skipped) is not _DocumentEnd:
                    pass
                documents.append(YamlDocument(index, None, line, problem))
            else:
                documents.append(YamlDocument(index, value, line))
        return documents

    def _document(self, get: Callable[[], Any], yaml11: bool, index: int) -> Any:
        resolve = resolve_plain_11 if yaml11 else resolve_plain
        track = self.track == index
        anchors: dict[str, _Anchor] = {}
        stack: list[_Frame] = []
        anchored_open = 0  # open frames that carry an anchor (alias budget bookkeeping)
        flow: _FlowIndent | None = None  # set inside a flow collection nested in block context
        root: Any = None
        while True:
            event = get()
            kind = type(event)
            if kind is _Scalar:
                if flow is not None:
                    flow.check(event, depth=0)
                elif (
                    stack
                    and not stack[-1].flow
                    and event.style in _QUOTED
                    and event.end_mark.line > event.start_mark.line
                ):
                    self._check_quoted_indent(event, stack[-1].column + 1)
                tag = event.tag
                if tag is None:
                    value = resolve(event.value) if event.style in _PLAIN else event.value
                elif tag == "!" or tag == TAG_PREFIX + "str":
                    value = event.value
                else:
                    value = resolve_tagged(tag, event.value)
                if event.anchor is not None:
                    anchors[event.anchor] = _Anchor(value, done=True)
                if anchored_open:
                    for open_frame in stack:
                        if open_frame.anchor is not None:
                            open_frame.anchor.has_scalar = True
                if not stack:
                    root = value
                    if track:
                        self._record(stack, event)
                    continue
                frame = stack[-1]
                # The common cases inline: this loop runs for every scalar of every file.
                if frame.is_list:
                    if track:
                        self._record(stack, event)
                    frame.container.append(value)
                elif frame.key is _NO_KEY:
                    frame.key = value
                    frame.key_event = event
                elif not track and type(frame.key) is str and frame.identities is None:
                    key = frame.key
                    frame.key = _NO_KEY
                    if key in frame.container:
                        raise _DocumentError(
                            "yaml-duplicate-key",
                            "Map keys must be unique",
                            frame.key_event.start_mark,
                        )
                    frame.container[key] = value
                else:
                    self._insert(frame, value, event, track, stack)
            elif kind is _MappingStart or kind is _SequenceStart:
                if len(stack) >= self.max_depth:
                    raise _DocumentError(
                        "yaml-depth",
                        f"nesting deeper than {self.max_depth} levels",
                        event.start_mark,
                    )
                container: Any = {} if kind is _MappingStart else []
                anchor = None
                if event.anchor is not None:
                    anchor = anchors[event.anchor] = _Anchor(container, done=False)
                    anchored_open += 1
                if stack:
                    parent = stack[-1]
                    if parent.is_list:
                        path_key: str | int | None = len(parent.container)
                    elif parent.key is _NO_KEY:
                        path_key = None
                    else:
                        path_key = _string_key(parent.key)
                    in_key = parent.in_key or path_key is None
                else:
                    path_key, in_key = None, False
                if track and not in_key:
                    self._record(stack, event)
                if flow is not None:
                    flow.check(event, depth=1)
                elif event.flow_style and stack and not stack[-1].flow:
                    flow = _FlowIndent(self._line, stack[-1].column + 1, event.start_mark.line)
                stack.append(
                    _Frame(
                        container,
                        anchor=anchor,
                        path_key=path_key,
                        in_key=in_key,
                        column=event.start_mark.column,
                        flow=bool(event.flow_style),
                    )
                )
            elif kind in _CollectionEnds:
                if flow is not None and flow.check(event, depth=-1):
                    flow = None
                frame = stack.pop()
                if frame.anchor is not None:
                    frame.anchor.done = True
                    anchored_open -= 1
                if not stack:
                    root = frame.container
                    continue
                self._insert(stack[-1], frame.container, None, False, stack)
            elif kind is _Alias:
                if flow is not None:
                    flow.check(event, depth=0)
                value = self._expand(anchors, event)
                if anchored_open:
                    # Every open anchored node gets this leaf (npm yaml's getAliasCount walks
                    # the whole subtree of an anchored node).
                    for open_frame in stack:
                        if open_frame.anchor is not None:
                            open_frame.anchor.leaves.append(anchors[event.anchor])
                if not stack:
                    root = value
                    continue
                self._insert(stack[-1], value, event, track, stack)
            elif kind is _DocumentEnd:
                return root

    def _line(self, number: int) -> str:
        """Line ``number`` (0-based) of the text being read."""
        if self._lines is None:
            self._lines = self._text.split("\n")
        return self._lines[number]

    def _check_quoted_indent(self, event: Any, required: int) -> None:
        # npm yaml ends a quoted scalar at a continuation line that is not indented more than
        # the block collection around it (and then misses the closing quote); libyaml reads on.
        for number in range(event.start_mark.line + 1, event.end_mark.line + 1):
            text = self._line(number)
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

    def _insert(
        self, frame: _Frame, value: Any, event: Any, track: bool, stack: list[_Frame]
    ) -> None:
        """Add a value to a collection (``event`` is None for a just-closed collection)."""
        container = frame.container
        if frame.is_list:
            if track and event is not None:
                self._record(stack, event)
            container.append(value)
            return
        key = frame.key
        if key is _NO_KEY:
            frame.key = value
            frame.key_event = event
            return
        frame.key = _NO_KEY
        identities = frame.identities
        if type(key) is str and identities is None:
            duplicate = key in container
            string_key = key
        else:
            if identities is None:
                # Until now every key was a string: seed the identities from them.
                identities = frame.identities = {("s", k) for k in container}
            identity = _identity(key)
            duplicate = identity in identities
            identities.add(identity)
            string_key = _string_key(key)
        if duplicate:
            mark = frame.key_event.start_mark if frame.key_event is not None else None
            raise _DocumentError("yaml-duplicate-key", "Map keys must be unique", mark)
        if track and event is not None:
            self._record(stack, event, string_key)
        container[string_key] = value

    def _record(self, stack: list[_Frame], event: Any, key: str | None = None) -> None:
        """Remember where the value starting at ``event`` is (tracking mode only)."""
        if stack and stack[-1].in_key:
            return
        path: list[Any] = [frame.path_key for frame in stack[1:]]
        mark = event.start_mark
        key_mark = mark
        if stack:
            parent = stack[-1]
            if parent.is_list:
                path.append(len(parent.container))
            else:
                path.append(key if key is not None else _string_key(parent.key))
                key_mark = parent.key_event.start_mark
        self.positions[tuple(path)] = Position(
            mark.line + 1, mark.column + 1, key_mark.line + 1, key_mark.column + 1
        )


def _problem_from(error: YAMLError, text: str) -> YamlProblem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if isinstance(error, MarkedYAMLError):
        problem = error.problem or "invalid YAML"
        context = error.context
        message = f"{problem} ({context})" if context else problem
    else:
        message = str(error).splitlines()[0] if str(error) else "invalid YAML"
    if mark is not None:
        return YamlProblem("yaml-syntax", message, mark.line + 1, mark.column + 1)
    position = getattr(error, "position", 0) or 0
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return YamlProblem("yaml-syntax", message, line + 1, column + 1)


_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_LINES = re.compile(r"[^\n]*\n|[^\n]+$")  # only LF ends a line, as for libyaml's marks
_DOCUMENT_END = re.compile(r"^\.\.\.(?=[ \t\r\n]|$)", re.MULTILINE)


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Split a stream at document markers: (line offset, text) per would-be document."""
    lines = _LINES.findall(text)
    start = 0
    for number, line in enumerate(lines):
        if number > start and _DOCUMENT_START.match(line):
            yield start, "".join(lines[start:number])
            start = number
        elif _DOCUMENT_END.match(line):
            yield start, "".join(lines[start : number + 1])
            start = number + 1
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


def _unshield(value: Any, back: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.translate({ord(k): v for k, v in back.items()})
    if isinstance(value, list):
        return [_unshield(item, back) for item in value]
    if isinstance(value, dict):
        return {_unshield(k, back): _unshield(v, back) for k, v in value.items()}
    return value


def _read(text: str, reader: _Reader) -> list[YamlDocument]:
    if _LIBYAML_REFUSES.search(text):
        shielded, back = _shield(text)
        read = _read(shielded, reader)
        for document in read:
            document.value = _unshield(document.value, back)
        reader.positions = {
            tuple(_unshield(part, back) for part in path): position
            for path, position in reader.positions.items()
        }
        return read
    try:
        return reader.read(text, 0)
    except YAMLError:
        pass
    # A syntax error stops libyaml for the rest of the stream; Backstage (npm yaml) still
    # reads the other documents, so read the stream again one document at a time.
    documents: list[YamlDocument] = []
    for offset, chunk in _chunks(text):
        try:
            found = reader.read(chunk, offset)
        except YAMLError as error:
            problem = _problem_from(error, chunk)
            problem = YamlProblem(
                problem.rule, problem.message, problem.line + offset, problem.column
            )
            found = [YamlDocument(0, None, offset + 1, problem)]
        for document in found:
            document.index = len(documents)
            documents.append(document)
    return documents


def parse_documents(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> list[YamlDocument]:
    """Every document of a YAML stream, each with its value or its problem."""
    return _read(text, _Reader(max_depth, None))


def locate(text: str, index: int, *, max_depth: int = DEFAULT_MAX_DEPTH) -> dict[Path, Position]:
    """Positions of every value of document ``index``, keyed by path (``()`` is the root)."""
    reader = _Reader(max_depth, index)
    _read(text, reader)
    return reader.positions
