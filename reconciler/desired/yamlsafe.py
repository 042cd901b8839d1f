"""Plain-data YAML: UTF-8 only, no tags, anchors, aliases or merge keys, unique keys (SPEC §3).

Data is built straight from the parser's events (libyaml's C parser when present), so an alias
bomb is a handful of events and nothing is ever expanded. Positions are not kept for valid
files: `YamlFile.locate` re-parses a file on demand, which only happens when it has a problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml
import yaml.reader
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler.desired.scalars import EXACT, MISS, TYPED_START, NotPlain, resolve
from reconciler.errors import Location, Problem
from reconciler.model import JSON

_Parser: type[Any]
try:  # libyaml: the fast path the benchmark's floor also uses
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = yaml.SafeLoader

MAX_DEPTH = 64
JsonPath = tuple[str | int, ...]  # a JSON path into a document: keys and list indexes
_Pos = tuple[int, int, int, int]  # key line, key column, value line, value column (1-based)

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def json_path(path: Sequence[str | int]) -> str:
    """`$.modules.forms.settings[0]`; odd keys are quoted: `$['a.b']`."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_NAME.match(part):
            out.append(f".{part}")
        else:
            out.append("[" + repr(part) + "]")
    return "".join(out)


class YamlFile:
    """One parsed file: its data, and positions of any path on demand."""

    __slots__ = ("_positions", "data", "file", "text")

    def __init__(self, file: str, text: str, data: JSON) -> None:
        self.file = file
        self.text = text
        self.data = data
        self._positions: dict[JsonPath, _Pos] | None = None

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> Location:
        """Location of `path` (its key with key=True); the nearest existing parent otherwise."""
        if self._positions is None:
            self._positions = _build(self.text, self.file, record=True)[2] or {}
        parts = tuple(path)
        while parts not in self._positions and parts:
            parts, key = parts[:-1], False
        pos = self._positions.get(parts)
        if pos is None:
            return Location(self.file, 1, 1)
        if key and pos[0] > 0:
            return Location(self.file, pos[0], pos[1])
        return Location(self.file, pos[2], pos[3])

    def problem(self, path: Sequence[str | int], reason: str, *, key: bool = False) -> Problem:
        """A Problem at `path` of this file."""
        return Problem(self.locate(path, key=key), json_path(path), reason)


def parse(
    file: str, raw: bytes, *, max_bytes: int | None = None
) -> tuple[YamlFile | None, list[Problem]]:
    """Parse a file whose top level must be a mapping; None when its problems leave no data."""
    if max_bytes is not None and len(raw) > max_bytes:
        return None, [too_big(file, len(raw), max_bytes)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8")) + 1  # in characters
        reason = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        return None, [Problem(Location(file, line, column), "$", reason)]
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark is harmless: accept and drop it
        text = text[1:]
    data, problems, _, hard = _build(text, file, record=False)
    if hard:
        return None, problems
    if data is None:
        return None, [Problem(Location(file, 1, 1), "$", "file is empty; expected a mapping")]
    if type(data) is not dict:
        kind = "a list" if type(data) is list else f"a {type(data).__name__}"
        found = YamlFile(file, text, data).locate(())
        return None, [Problem(found, "$", f"top level is {kind}; expected a mapping")]
    return YamlFile(file, text, data), problems


def too_big(file: str, size: int, limit: int) -> Problem:
    """The problem for a file over `limits.max_file_bytes`."""
    reason = f"file is {size} bytes, over the limit of {limit} (limits.max_file_bytes)"
    return Problem(Location(file, 1, 1), "$", reason)


def _stack_path(stack: list[list[Any]], *, adding: bool = True) -> JsonPath:
    """JSON path of the value being added at the top of `stack` (adding) or of the top container."""
    parts: list[str | int] = []
    last = len(stack) - 1
    for i, frame in enumerate(stack):
        if frame[2] is None:  # a list
            parts.append(len(frame[0]) - (0 if adding and i == last else 1))
        else:
            parts.append(frame[1])
    return tuple(parts)


def _build(
    text: str, file: str, *, record: bool
) -> tuple[JSON, list[Problem], dict[JsonPath, _Pos] | None, bool]:
    """Data, problems, positions (with record=True) and whether the data is unusable.

    The loop is the hot path of `validate` (issue 3's benchmark): positions and paths are only
    computed when recording or when something is wrong.
    """
    problems: list[Problem] = []
    positions: dict[JsonPath, _Pos] = {}
    hostile_seen: dict[str, list[int]] = {}  # kind -> [count, index of its problem]
    # Frames: [container, key, state, key line, key column]; state: True = a mapping expecting
    # a key, False = a mapping expecting the value of `key`, None = a list.
    stack: list[list[Any]] = []
    root: JSON = None
    documents = 0
    event: Any = None
    hard = [False]

    def fail(reason: str, path: JsonPath | None = None, *, soft: bool = False) -> None:
        # Soft problems (duplicate keys, odd scalars) leave usable data; the rest do not.
        hard[0] = hard[0] or not soft
        if path is None:
            if stack and stack[-1][2] is True:  # the offending node is a key
                path = (*_stack_path(stack[:-1], adding=False), str(event.value))
            else:
                path = _stack_path(stack)
        mark = event.start_mark
        where = Location(file, mark.line + 1, mark.column + 1)
        problems.append(Problem(where, json_path(path), reason))

    def hostile(kind: str, reason: str) -> None:
        # One problem per kind and file: an alias bomb is one clear error, not thousands.
        entry = hostile_seen.setdefault(kind, [0, len(problems)])
        entry[0] += 1
        if entry[0] == 1:
            fail(reason)

    def check_node(event: Any) -> None:
        if event.anchor is not None:
            hostile("alias", f"anchor &{event.anchor}: anchors and aliases are not allowed")
        if event.tag is not None:
            hostile("tag", f"tag {event.tag}: tags are not allowed, only plain data")

    get_event = _Parser(text).get_event
    try:
        while True:
            event = get_event()
            cls = type(event)
            if cls is ScalarEvent:
                if event.anchor is not None or event.tag is not None:
                    check_node(event)
                value: JSON = event.value
                if event.implicit[0]:
                    exact = EXACT.get(value, MISS)
                    if exact is not MISS:
                        value = exact
                    elif value[0] in TYPED_START:
                        try:
                            value = resolve(value)
                        except NotPlain as exc:
                            fail(str(exc), soft=exc.soft)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                if event.anchor is not None or event.tag is not None:
                    check_node(event)
                value = {} if cls is MappingStartEvent else []
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                stack.pop()
                continue
            elif cls is AliasEvent:
                hostile("alias", f"alias *{event.anchor}: anchors and aliases are not allowed")
                value = None
            elif cls is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    fail("more than one YAML document; keep one per file", ())
                    break
                continue
            elif cls is StreamEndEvent:
                break
            else:
                continue
            # Attach `value` to its parent.
            if stack:
                top = stack[-1]
                state = top[2]
                if state is True:  # `value` is a key
                    if type(value) is not str:
                        if cls is not ScalarEvent:
                            fail("complex mapping keys are not allowed", ())
                            break
                        fail(f"key {event.value} is not a string; quote it", soft=True)
                        value = event.value  # as written: `null`, not Python's 'None'
                    if value in top[0]:
                        path = (*_stack_path(stack[:-1], adding=False), value)
                        fail(f"duplicate key {value!r}", path, soft=True)
                    top[1] = value
                    top[2] = False
                    if record:
                        top[3], top[4] = event.start_mark.line + 1, event.start_mark.column + 1
                    continue
                if record:
                    mark = event.start_mark
                    where = (top[3], top[4]) if state is False else (0, 0)
                    positions[_stack_path(stack)] = (*where, mark.line + 1, mark.column + 1)
                if state is False:
                    top[0][top[1]] = value
                    top[2] = True
                else:
                    top[0].append(value)
            else:
                root = value
                if record:
                    mark = event.start_mark
                    positions[()] = (0, 0, mark.line + 1, mark.column + 1)
            if cls is MappingStartEvent:
                stack.append([value, None, True, 0, 0])
            elif cls is SequenceStartEvent:
                stack.append([value, None, None, 0, 0])
            else:
                continue
            if len(stack) > MAX_DEPTH:
                fail(f"nesting deeper than {MAX_DEPTH} levels is not allowed", ())
                break
    except yaml.MarkedYAMLError as exc:
        hard[0] = True
        problems.append(_syntax_problem(file, exc))
    except yaml.reader.ReaderError as exc:  # a control character, say
        hard[0] = True
        position = int(exc.position)
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = f"character #x{exc.character:04x} is not allowed in YAML ({exc.reason})"
        problems.append(Problem(Location(file, line, column), "$", reason))
    except yaml.YAMLError as exc:
        hard[0] = True
        reason = f"YAML error: {' '.join(str(exc).split())}"
        problems.append(Problem(Location(file, 1, 1), "$", reason))
    except RecursionError:  # pure-Python parser fallback on absurd nesting
        hard[0] = True
        reason = f"nesting deeper than {MAX_DEPTH} levels is not allowed"
        problems.append(Problem(Location(file, 1, 1), "$", reason))
    for count, index in hostile_seen.values():
        if count > 1:
            first = problems[index]
            more = f"{first.reason} ({count - 1} more in this file)"
            problems[index] = Problem(first.location, first.path, more)
    return root, problems, positions if record else None, hard[0]


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    """One problem for a parser error, at the parser's mark."""
    mark = exc.problem_mark or exc.context_mark
    reason = " ".join(f"{exc.problem or ''}".split()) or "invalid YAML"
    if "maximum nesting depth" in reason:  # libyaml stops at 1000 levels; say it our way
        reason = f"nesting deeper than {MAX_DEPTH} levels is not allowed"
    else:
        reason = f"YAML syntax error: {reason}"
        if exc.context:
            reason += f" ({' '.join(exc.context.split())})"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(Location(file, line, column), "$", reason)
