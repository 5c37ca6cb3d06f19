"""Whether JavaScript's ``new URL(value)`` accepts a string, as Node 20 decides it.

Backstage validates ``metadata.links[].url`` by constructing ``new URL(value)`` without a base;
it must not throw. :func:`is_valid_url` answers the same question without running JavaScript,
following the WHATWG URL Standard's basic URL parser (https://url.spec.whatwg.org/) as Node 20
implements it (the Ada 2.9 library). Only the steps that can *fail* are modelled: a URL's path,
query and fragment never make parsing fail, so they are not parsed at all.

Hosts of special URLs (http, https, ws, wss, ftp, file) go through UTS #46 "domain to ASCII"
(IDNA). Mapping uses the ``idna`` package's table, adjusted to the UTS #46 15.0 table Node 20
uses; the label checks reproduce Ada's, including its quirks (see ``_label_is_valid``). Known
differences, all about code points added to Unicode recently, none about ASCII:

* code points new in Unicode 15.0 (e.g. CJK Extension H) are rejected on Python 3.11, whose
  ``unicodedata`` stops at Unicode 14.0; Node accepts them;
* a host that *starts* with a combining mark new in Unicode 14.0 is rejected; Node's older
  mark table accepts it; bidi classes of Unicode 14.0 letters may differ the same way.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_valid_url"]

_SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp"})  # "file" is handled on its own
_C0_CONTROL_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_FORBIDDEN_HOST = frozenset("\x00\t\n\r #/:<>?@[\\]^|")
_FORBIDDEN_DOMAIN = _FORBIDDEN_HOST | frozenset(map(chr, range(0x20))) | {"%", "\x7f"}
_PERCENT_BYTE = re.compile(rb"%([0-9A-Fa-f]{2})")
_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z][:|]")

# The common case, decided without the parser: a special scheme, "//", a host of ASCII
# letters, digits and hyphens whose last label starts with a letter (so it cannot be an IPv4
# address) and no label is Punycode, an optional port below 10000, then anything.
_PLAIN_LABEL = r"(?!xn--)[a-z0-9-]+"
_FAST_PATH = re.compile(
    rf"(?:https?|wss?|ftp)://(?:{_PLAIN_LABEL}\.)*(?!xn--)[a-z][a-z0-9-]*\.?"
    r"(?::[0-9]{0,4})?(?:[/?#\\].*)?",
    re.IGNORECASE | re.DOTALL,
)


def is_valid_url(value: str) -> bool:
    """Whether ``new URL(value)`` (no base) succeeds in Node 20."""
    return _FAST_PATH.fullmatch(value) is not None or _parses(value)


def _parses(value: str) -> bool:
    """The full check (``is_valid_url`` without its shortcut)."""
    text = value.strip(_C0_CONTROL_OR_SPACE).translate(_TAB_OR_NEWLINE)
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        # No scheme means a relative URL, and there is no base to resolve it against.
        return False
    scheme = scheme_match.group()[:-1].lower()
    rest = text[scheme_match.end() :]
    if scheme == "file":
        return _file_is_valid(rest)
    if scheme in _SPECIAL:
        # Special URLs skip any run of slashes and backslashes before the authority.
        return _authority_is_valid(_until(rest.lstrip("/\\"), "/?#\\"), special=True)
    if rest.startswith("//"):
        return _authority_is_valid(_until(rest[2:], "/?#"), special=False)
    # An opaque path ("mailto:x") or a path ("foo:/x"): nothing there can fail.
    return True


def _until(text: str, stops: str) -> str:
    """``text`` up to the first of ``stops``."""
    end = len(text)
    for stop in stops:
        found = text.find(stop, 0, end)
        if found >= 0:
            end = found
    return text[:end]


def _file_is_valid(rest: str) -> bool:
    if rest[:1] not in ("/", "\\") or rest[1:2] not in ("/", "\\"):
        return True
    host = _until(rest[2:], "/\\?#")
    if not host or _WINDOWS_DRIVE.fullmatch(host):
        # "file:///x" has an empty host; "file://C:/x" is a drive letter, kept in the path.
        return True
    return _host_is_valid(host, special=True)


def _authority_is_valid(authority: str, *, special: bool) -> bool:
    # Credentials end at the last "@"; what follows is host and port.
    at = authority.rfind("@")
    host_and_port = authority[at + 1 :]
    if at >= 0 and not host_and_port:
        return False
    inside_brackets = False
    for index, char in enumerate(host_and_port):
        if char == "[":
            inside_brackets = True
        elif char == "]":
            inside_brackets = False
        elif char == ":" and not inside_brackets:
            host, port = host_and_port[:index], host_and_port[index + 1 :]
            return bool(host) and _host_is_valid(host, special=special) and _port_is_valid(port)
    if not host_and_port:
        return not special
    return _host_is_valid(host_and_port, special=special)


def _port_is_valid(port: str) -> bool:
    if not port:
        return True
    if not _DIGITS.issuperset(port):
        return False
    significant = port.lstrip("0")
    return len(significant) <= 5 and int(significant or "0") <= 65535


def _host_is_valid(host: str, *, special: bool) -> bool:
    if host.startswith("["):
        return host.endswith("]") and _ipv6_is_valid(host[1:-1])
    if not special:
        # An opaque host: any code point but the forbidden ones (no IDNA, no decoding).
        return _FORBIDDEN_HOST.isdisjoint(host)
    domain = _percent_decode(host) if "%" in host else host
    ascii_domain = _domain_to_ascii(domain)
    if not ascii_domain or not _FORBIDDEN_DOMAIN.isdisjoint(ascii_domain):
        return False
    if _ends_in_number(ascii_domain):
        return _ipv4_is_valid(ascii_domain)
    return True


def _percent_decode(text: str) -> str:
    """Percent-decode, then read the bytes as UTF-8 (invalid sequences become U+FFFD)."""
    raw = text.encode("utf-8", "surrogatepass")
    decoded = _PERCENT_BYTE.sub(lambda match: bytes([int(match.group(1), 16)]), raw)
    return decoded.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# IPv4 and IPv6


def _ends_in_number(domain: str) -> bool:
    parts = domain.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    return (bool(last) and _DIGITS.issuperset(last)) or _ipv4_number(last) is not None


def _ipv4_number(part: str) -> int | None:
    if not part:
        return None
    radix = 10
    if len(part) >= 2 and part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
    elif len(part) >= 2 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    allowed = _HEX_DIGITS if radix == 16 else _DIGITS if radix == 10 else frozenset("01234567")
    if not allowed.issuperset(part):
        return None
    return int(part, radix)


def _ipv4_is_valid(domain: str) -> bool:
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        return False
    numbers = [_ipv4_number(part) for part in parts]
    if None in numbers:
        return False
    valid = [number for number in numbers if number is not None]
    if any(number > 255 for number in valid[:-1]):
        return False
    return valid[-1] < 1 << (8 * (5 - len(valid)))


def _ipv6_is_valid(text: str) -> bool:
    """The WHATWG IPv6 parser, reduced to whether it fails."""
    pieces = 0
    compressed = False
    position, length = 0, len(text)
    if text.startswith(":"):
        if not text.startswith("::"):
            return False
        position, pieces, compressed = 2, 1, True
    while position < length:
        if pieces == 8:
            return False
        if text[position] == ":":
            if compressed:
                return False
            position, pieces, compressed = position + 1, pieces + 1, True
            continue
        start = position
        while position < length and position - start < 4 and text[position] in _HEX_DIGITS:
            position += 1
        if position < length and text[position] == ".":
            if position == start or pieces > 6:
                return False
            return _ipv6_ipv4_tail_is_valid(text[start:]) and (compressed or pieces == 6)
        if position < length:
            if text[position] != ":":
                return False
            position += 1
            if position == length:
                return False
        pieces += 1
    return compressed or pieces == 8


def _ipv6_ipv4_tail_is_valid(text: str) -> bool:
    """The dotted IPv4 tail of an IPv6 address: four decimal numbers, no leading zeros."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        part.isascii()
        and part.isdigit()
        and (part == "0" or not part.startswith("0"))
        and int(part) <= 255
        for part in parts
    )


# ---------------------------------------------------------------------------------------------
# Domain to ASCII (UTS #46 with CheckBidi, CheckJoiners, no STD3 rules, no hyphen checks)


def _domain_to_ascii(domain: str) -> str | None:
    """The ASCII form of ``domain``, or None when UTS #46 processing fails."""
    if domain.isascii():
        # Lowercasing is the whole UTS #46 mapping for ASCII; only Punycode labels need checks.
        lowered = domain.lower()
        if "xn--" in lowered and not all(map(_ascii_label_is_valid, lowered.split("."))):
            return None
        return lowered
    mapped = _remap(domain)
    if mapped is None:
        return None
    labels = []
    for label in mapped.split("."):
        if label.startswith("xn--"):
            if not label.isascii() or not _ascii_label_is_valid(label):
                return None
            labels.append(label)
        elif label.isascii():
            labels.append(label)
        elif _label_is_valid(label):
            labels.append("xn--" + label.encode("punycode").decode("ascii"))
        else:
            return None
    return ".".join(labels)


def _ascii_label_is_valid(label: str) -> bool:
    """A Punycode label must decode to a valid, non-empty label that maps to itself."""
    if not label.startswith("xn--"):
        return True
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return False
    if not decoded:
        return False
    return _remap(decoded) == decoded and _label_is_valid(decoded)


# UTS #46 15.1 turned these from disallowed into mapped or ignored code points. Node 20 uses
# the 15.0 table and rejects them; the ``idna`` package's newer table accepts them.
_DISALLOWED_BEFORE_UTS46_15_1 = frozenset(
    [
        *(0x04C0, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x1806, 0x180E, 0x2132, 0x2183, 0x3164, 0xFFA0),
        *(0x2F868, 0x2F874, 0x2F91F, 0x2F95F, 0x2F9BF),
        *range(0x10A0, 0x10C6),
        *range(0x2061, 0x2064),
        *range(0x206A, 0x2070),
        *range(0x1D173, 0x1D17B),
    ]
)


def _remap(text: str) -> str | None:
    """UTS #46 mapping and NFC, or None for a disallowed code point.

    Code points that Python's (older) Unicode database does not know are disallowed too: the
    ``idna`` table is newer than Node's and would accept recently assigned ones.
    """
    import idna  # only non-ASCII hosts need the Unicode tables

    if any(
        ord(char) in _DISALLOWED_BEFORE_UTS46_15_1 or unicodedata.category(char) == "Cn"
        for char in text
    ):
        return None
    try:
        return idna.uts46_remap(text, std3_rules=False)
    except idna.IDNAError:
        return None


def _label_is_valid(label: str) -> bool:
    """UTS #46 validity of one label, as Ada 2.9 (Node 20) checks it.

    Ada decides the label on its first joiner (ZWNJ/ZWJ) alone, and in a left-to-right label
    that contains right-to-left characters it never checks the last non-mark character: both
    are reproduced, since the goal is Node's verdict.
    """
    if not label:
        return True
    if unicodedata.category(label[0]).startswith("M"):
        return False
    for index, char in enumerate(label):
        if char in ("\u200c", "\u200d"):
            return _joiner_is_valid(label, index)
    directions = [unicodedata.bidirectional(char) for char in label]
    last = len(directions) - 1
    while last >= 0 and directions[last] == "NSM":
        last -= 1
    if last < 0:
        return False
    if not {"R", "AL", "AN"}.intersection(directions):
        return True
    if directions[0] == "L":
        return all(d in _LTR_ALLOWED for d in directions[:last])
    numbers = {d for d in directions[: last + 1] if d in ("EN", "AN")}
    return (
        len(numbers) < 2
        and all(d in _RTL_ALLOWED for d in directions[: last + 1])
        and directions[last] in ("R", "AL", "AN", "EN")
    )


_LTR_ALLOWED = frozenset({"L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"})
_RTL_ALLOWED = frozenset({"R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"})


def _joiner_is_valid(label: str, index: int) -> bool:
    """RFC 5892 ContextJ, in Ada's simplified form (any L/D before, any R/D after)."""
    if index > 0 and unicodedata.combining(label[index - 1]) == 9:  # after a virama
        return True
    if label[index] == "\u200d" or index == 0 or index == len(label) - 1:
        return False
    from idna.idnadata import joining_types
    from idna.intranges import intranges_contain

    def joins(char: str, kinds: str) -> bool:
        return any(intranges_contain(ord(char), joining_types[kind]) for kind in kinds)

    return any(joins(char, "LD") for char in label[:index]) and any(
        joins(char, "RD") for char in label[index + 1 :]
    )
