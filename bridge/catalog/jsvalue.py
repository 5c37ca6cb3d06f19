"""JavaScript semantics that Backstage's messages and checks depend on.

Backstage runs on Node: its error texts convert values with ``String(v)`` and
``JSON.stringify(v)``, it trims with ``String.prototype.trim`` and walks objects in
``Object.keys`` order (integer-like keys first). Reproducing those rules is what makes our
messages and our first-error choice identical to Backstage's.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Characters JavaScript's String.prototype.trim removes (WhiteSpace + LineTerminator).
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DIGITS = frozenset("0123456789")
_first_character = operator.itemgetter(slice(0, 1))  # key[:1], in a loop that stays in C
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_MAX_ARRAY_INDEX = 2**32 - 2


def js_trim(text: str) -> str:
    """``text.trim()`` as JavaScript does it (Python's strip differs on a few code points)."""
    return text.strip(_JS_WHITESPACE)


def js_typeof(value: Any) -> str:
    """JavaScript's ``typeof`` for a value produced by the YAML loader."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "object"  # dict, list and null


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness: empty lists and objects are truthy there, unlike in Python."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int | float):
        return not math.isnan(value) and value != 0  # NaN is falsy
    return True


def js_number(value: float) -> str:
    """``String(n)`` for a JavaScript number (shortest round-trip digits, JS exponent rules)."""
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr gives the shortest digits that round-trip, as JavaScript does; only the layout
    # (where JavaScript switches to exponent notation) differs.
    mantissa, _, exp = repr(abs(number)).partition("e")
    whole, _, frac = mantissa.partition(".")
    raw = whole + frac
    significant = raw.lstrip("0")
    point = len(whole) + int(exp or 0) - (len(raw) - len(significant))
    digits = significant.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * (-point) + digits
    exponent = point - 1
    exponent_text = f"e+{exponent}" if exponent >= 0 else f"e-{-exponent}"
    if count == 1:
        return sign + digits + exponent_text
    return sign + digits[0] + "." + digits[1:] + exponent_text


def js_string(value: Any) -> str:
    """``String(value)`` / template-literal conversion of a loader value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, list):
        # Array.prototype.join: null/undefined become empty strings.
        return ",".join("" if item is None else js_string(item) for item in value)
    return "[object Object]"


def js_json(value: Any) -> str:
    """``JSON.stringify(value)`` (compact, JavaScript number formatting)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return "null" if isinstance(value, float) and not math.isfinite(value) else js_number(value)
    if isinstance(value, list):
        return "[" + ",".join(js_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                json.dumps(key, ensure_ascii=False) + ":" + js_json(value[key])
                for key in js_keys(value)
            )
            + "}"
        )
    return json.dumps(str(value), ensure_ascii=False)


def _is_array_index(key: str) -> bool:
    return bool(_ARRAY_INDEX.fullmatch(key)) and int(key) <= _MAX_ARRAY_INDEX


def js_keys(mapping: Mapping[str, Any]) -> list[str]:
    """``Object.keys(obj)``: integer-like keys in numeric order first, then insertion order."""
    keys = list(mapping)
    if _DIGITS.isdisjoint(map(_first_character, keys)):
        return keys  # the usual case: no key can be an array index
    indices = sorted((key for key in keys if _is_array_index(key)), key=int)
    return indices + [key for key in keys if not _is_array_index(key)]


def json_pointer(path: Iterable[str | int]) -> str:
    """An AJV ``instancePath`` for a path of keys and indices (RFC 6901 escaping)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
