"""Resolution of YAML scalars to values, as npm ``yaml`` 2.x does for Backstage.

Backstage parses with the YAML 1.2 *core* schema: ``yes``/``on`` and dates stay strings,
``0755`` is the decimal 755, ``0o755`` is octal. A ``%YAML 1.1`` directive switches a
document to the 1.1 rules. Explicit tags (``!!str 5``) apply only when the text fits them;
unknown tags keep the text as a string. Numbers follow JavaScript: integers beyond 2**53
lose precision exactly as they do in Node.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

TAG_PREFIX = "tag:yaml.org,2002:"

_INT_DEC = re.compile(r"[-+]?[0-9]+")
_INT_OCT = re.compile(r"0o[0-7]+")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT_EXP = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)")
_FLOAT_SPECIAL = {
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}

# YAML 1.1 (only under a `%YAML 1.1` directive).
_BOOLS_11 = {
    **_BOOLS,
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False),
}
_INT_11 = re.compile(r"[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)")
_FLOAT_11 = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
)
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(\.[0-9]+)?"
    r"(?:[ \t]*(Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?)?"
)

_JS_SAFE_INTEGER = 2**53


def _js_int(value: int) -> int | float:
    # Node keeps numbers as doubles: big integers round like they do there.
    return value if -_JS_SAFE_INTEGER < value < _JS_SAFE_INTEGER else float(value)


def _core_number(text: str) -> int | float | None:
    if _INT_DEC.fullmatch(text):
        return _js_int(int(text))
    if _INT_OCT.fullmatch(text):
        return _js_int(int(text[2:], 8))
    if _INT_HEX.fullmatch(text):
        return _js_int(int(text[2:], 16))
    if _FLOAT_EXP.fullmatch(text) or _FLOAT.fullmatch(text):
        return float(text)
    return _FLOAT_SPECIAL.get(text)


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar under the YAML 1.2 core schema."""
    if text in _NULLS:
        return None
    first = text[0]
    if first in "tTfF":
        return _BOOLS.get(text, text)
    if first in "0123456789+-.":
        number = _core_number(text)
        return text if number is None else number
    return text


def _number_11(text: str) -> int | float | None:
    clean = text.replace("_", "")
    sign = -1 if clean.startswith("-") else 1
    body = clean.lstrip("+-")
    if _INT_11.fullmatch(text):
        if body.startswith("0b"):
            return sign * int(body[2:], 2)
        if body.startswith("0x"):
            return sign * int(body[2:], 16)
        if ":" in body:
            total = 0
            for part in body.split(":"):
                total = total * 60 + int(part)
            return _js_int(sign * total)
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body, 8)
        return _js_int(sign * int(body))
    if _FLOAT_11.fullmatch(text) and body not in ("", "."):
        if ":" in body:
            head, _, tail = body.rpartition(":")
            minutes = 0.0
            for part in head.split(":"):
                minutes = minutes * 60 + int(part)
            return sign * (minutes * 60 + float(tail))
        return float(clean)
    return _FLOAT_SPECIAL.get(text)


def _timestamp(text: str) -> str | None:
    """A YAML timestamp as the ISO text JavaScript's Date#toJSON produces."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int(float(fraction or "0") * 1000) * 1000,
            tzinfo=dt.UTC,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        hours, _, minutes = zone[1:].partition(":")
        if not minutes and len(hours) > 2:
            hours, minutes = hours[:-2], hours[-2:]
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        moment -= offset if zone[0] == "+" else -offset
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def resolve_plain_11(text: str) -> Any:
    """The value of an untagged plain scalar under YAML 1.1 rules (``%YAML 1.1``)."""
    if text in _NULLS:
        return None
    if text in _BOOLS_11:
        return _BOOLS_11[text]
    if text[0] in "0123456789+-.":
        number = _number_11(text)
        if number is not None:
            return number
        stamp = _timestamp(text)
        if stamp is not None:
            return stamp
    return text


def _binary(text: str) -> Any:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return text
    # Node's Buffer#toJSON, which Document#toJSON applies.
    return {"type": "Buffer", "data": list(data)}


def _tagged_null(text: str) -> Any:
    return None if text in _NULLS else text


def _tagged_bool(text: str) -> Any:
    return _BOOLS.get(text, text)


def _tagged_int(text: str) -> Any:
    if _INT_DEC.fullmatch(text) or _INT_OCT.fullmatch(text) or _INT_HEX.fullmatch(text):
        return _core_number(text)
    return text


def _tagged_float(text: str) -> Any:
    if _FLOAT_EXP.fullmatch(text) or _FLOAT.fullmatch(text) or text in _FLOAT_SPECIAL:
        return _core_number(text)
    return text


def _tagged_timestamp(text: str) -> Any:
    stamp = _timestamp(text)
    return text if stamp is None else stamp


_TAGGED: dict[str, Callable[[str], Any]] = {
    TAG_PREFIX + "null": _tagged_null,
    TAG_PREFIX + "bool": _tagged_bool,
    TAG_PREFIX + "int": _tagged_int,
    TAG_PREFIX + "float": _tagged_float,
    TAG_PREFIX + "binary": _binary,
    TAG_PREFIX + "timestamp": _tagged_timestamp,
}


def resolve_tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit tag; text that does not fit the tag stays text."""
    resolver = _TAGGED.get(tag)
    return text if resolver is None else resolver(text)
