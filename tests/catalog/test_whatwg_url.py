"""``is_valid_url`` must give Node's verdict on ``new URL(value)`` for every string."""

from __future__ import annotations

import json
import subprocess
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.catalog.whatwg_url import _FAST_PATH, _parses, is_valid_url
from tests.support.node import require_node

# (value, what new URL(value) does in Node 20): hand-picked edges of each parser step.
CASES: list[tuple[str, bool]] = [
    # the examples of the Backstage rules
    ("mailto:x", True),
    ("foo:bar", True),
    ("localhost:8080", True),
    ("https://example.com/a b", True),
    ("dev.azure.com/x", False),
    ("/rel", False),
    ("http://", False),
    ("https://exa mple.com", False),
    ("https://[::1", False),
    ("http://a:99999", False),
    # stripping of C0 controls and spaces, removal of tabs and newlines
    ("  https://example.com  ", True),
    ("\x00\x1fhttp://a\x1f", True),
    ("ht\ntp://exa\tmple.com", True),
    ("http://a\x01b", False),
    ("http://a\x7f", False),
    # scheme syntax
    ("a+b-c.d:x", True),
    ("a:", True),
    ("1http://a", False),
    ("+:a", False),
    ("h ttp://a", False),
    ("", False),
    # special schemes need a host; slashes and backslashes before it are skipped
    ("http:example.com", True),
    ("http:/example.com", True),
    ("http:\\\\example.com", True),
    ("https:///example.com", True),
    ("http:", False),
    ("https://", False),
    ("ws://a/", True),
    ("WSS://A", True),
    ("ftp://?x", False),
    ("http://#x", False),
    # credentials
    ("http://user:pass@example.com", True),
    ("http://a@b@c", True),
    ("http://@a", True),
    ("http://:@a", True),
    ("http://a@", False),
    ("http://a@:80", False),
    # ports
    ("http://a:", True),
    ("http://a:65535", True),
    ("http://a:00000000000000000000080", True),
    ("http://a:65536", False),
    ("http://a:8a", False),
    ("http://a:80:90", False),
    ("http://:80", False),
    # domains: percent-decoding and forbidden code points
    ("http://a%41.com", True),
    ("http://a%2e", True),
    ("http://%00", False),
    ("http://a%2Fb", False),
    ("http://%zz", False),
    ("http://a%25", False),
    ("http://a<b", False),
    ("http://a^b", False),
    ("http://a|b", False),
    ("http://a..b", True),
    ("http://.", True),
    ("http://a_b", True),
    ("http://-a-", True),
    # IDNA: mapping, ignored and disallowed code points, Punycode, joiners, bidi
    ("http://ÉXAMPLE.com", True),
    ("http://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25\u3002com", True),
    ("http://☃.net", True),
    ("http://ß.de", True),
    ("http://a\u00ad", True),
    ("http://\u00ad", False),
    ("http://\uff0541", False),
    ("http://\ufffd", False),
    ("http://%ff", False),
    ("http://\u10a0", False),
    ("http://\u0301a", False),
    ("http://a\u200db", False),
    ("http://\u0915\u094d\u200d", True),
    ("http://xn--ls8h", True),
    ("http://XN--LS8H.com", True),
    ("http://xn--abc-", True),
    ("http://xn--", False),
    ("http://xn--a", False),
    ("http://xn--zz", False),
    ("http://xn--ls8h.xn--", False),
    ("http://\u05d0", True),
    ("http://\u05d0a", False),
    ("http://1\u05d0", True),
    ("http://xn--ab-wld", True),
    ("http://xn--ab-uld", False),
    # IPv4
    ("http://1.2.3.4", True),
    ("http://1.2.3.4.", True),
    ("http://0x7f.1", True),
    ("http://4294967295", True),
    ("http://0x", True),
    ("http://1.2.3.256", False),
    ("http://0x100000000", False),
    ("http://4294967296", False),
    ("http://1.2.3.4.5", False),
    ("http://09", False),
    ("http://a.1", False),
    ("http://foo.0x", False),
    ("http://1..2", False),
    ("http://\uff11.\uff12.\uff13.\uff12\uff15\uff16", False),
    # IPv6
    ("http://[::1]/", True),
    ("http://[::]:80", True),
    ("http://[1:2:3:4:5:6:7:8]", True),
    ("http://[::ffff:1.2.3.4]", True),
    ("http://[1:2:3:4:5:6:1.2.3.4]", True),
    ("http://[1:2:3:4:5:6:7:8:9]", False),
    ("http://[1:2:3:4:5:6:7:1.2.3.4]", False),
    ("http://[::1.2.3.04]", False),
    ("http://[::1.2.3]", False),
    ("http://[1::2::3]", False),
    ("http://[:1]", False),
    ("http://[1:]", False),
    ("http://[12345::]", False),
    ("http://[]", False),
    ("http://[::%31]", False),
    ("http://[::1]x", False),
    ("http://a[::1]", False),
    # opaque hosts of other schemes
    ("foo://", True),
    ("foo:///x", True),
    ("foo://%00", True),
    ("foo://a%zz", True),
    ("foo://é", True),
    ("foo://[::1]", True),
    ("foo://a:/", True),
    ("foo://a b", False),
    ("foo://a<b", False),
    ("foo://a\\b", False),
    ("foo://a:99999", False),
    ("foo://:80", False),
    ("foo://@", False),
    ("foo://[x]", False),
    # file URLs
    ("file:", True),
    ("file://", True),
    ("file:///etc/hosts", True),
    ("file://localhost/x", True),
    ("file://C:/x", True),
    ("file://C|/x", True),
    ("file:\\\\server\\share", True),
    ("file://[::1]/", True),
    ("file://server name/", False),
    ("file://host:80/", False),
    ("file://C:80/", False),
]


@pytest.mark.parametrize(("value", "valid"), CASES, ids=[repr(value) for value, _ in CASES])
def test_hand_picked_verdicts(value: str, valid: bool) -> None:
    assert is_valid_url(value) is valid


# Generated strings combine the parser's decision points. Their non-ASCII characters come from
# Unicode 3.2's repertoire plus a hand-picked list: characters added since then may carry
# different Unicode data in Node and here (see the module's docstring).
_OLD_UNICODE = st.characters(codec="utf-8").filter(
    lambda char: unicodedata.ucd_3_2_0.category(char) != "Cn"
)
_HOST_PIECES = st.sampled_from(
    [
        *"abcXYZ0189.-_%:@[]~ !$&'()*+,;=<>^|#?/\\\t\n\x00\x7f",
        *("xn--", "0x", "%2e", "%41", "%00", "%25", "%zz", "%e2%98%83", "%ff", "::", "1.2.3.4"),
        *"\u00e9\u00df\u00ad\u200c\u200d\u0301\u05d0\u0627\u0663\u3002\uff0e\uff21\uff10\uff05",
        *"\u2603\U0001f600\ufffd\u094d\u0915\u2163\ufb01\u0130\u03a3\u00a0\u10a0\u0080",
    ]
)
_HOSTS = st.lists(st.one_of(_HOST_PIECES, _HOST_PIECES, _OLD_UNICODE), max_size=8).map("".join)
_URLS = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["", " ", "\t", "\x00", "\n"]),
        st.sampled_from(["http", "HTTPS", "ws", "wss", "ftp", "file", "mailto", "foo", "a+b", ""]),
        st.sampled_from([":", "://", ":/", ":///", ":\\\\", "//", ""]),
        st.sampled_from(["", "user@", "u:p@", "@", ":@", "a@b@"]),
        _HOSTS,
        st.sampled_from(["", ":", ":80", ":65535", ":65536", ":08", ":8a", "::"]),
        st.sampled_from(["", "/", "/a b", "?q", "#f", "/x@y", "\\x"]),
    ),
)
_IPV4 = st.lists(
    st.sampled_from(["0", "1", "255", "256", "0x", "0xff", "0x100", "09", "010", "4294967296", ""]),
    min_size=1,
    max_size=6,
).map(lambda parts: "http://" + ".".join(parts) + "/")
_IPV6 = st.lists(
    st.sampled_from([*"0123456789abcdefABCDEF:.g%", "::", "ffff", "1.2.3.4", "256"]), max_size=10
).map(lambda pieces: "http://[" + "".join(pieces) + "]/")
_PUNYCODE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", max_size=8).map(
    lambda label: "http://xn--" + label + "/"
)
_STRINGS = st.one_of(_URLS, _URLS, _URLS, _IPV4, _IPV6, _PUNYCODE, st.text(_OLD_UNICODE))

_NODE_VERDICTS = """
let input = "";
process.stdin.on("data", (chunk) => (input += chunk)).on("end", () => {
  const verdicts = JSON.parse(input).map((value) => {
    try { new URL(value); return true; } catch { return false; }
  });
  process.stdout.write(JSON.stringify(verdicts));
});
"""


def _node_verdicts(values: list[str]) -> list[bool]:
    """``new URL(value)`` for each value, in one Node process."""
    result = subprocess.run(
        ["node", "-e", _NODE_VERDICTS],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    verdicts: list[bool] = json.loads(result.stdout)
    return verdicts


def _generated(count: int) -> list[str]:
    values: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,  # the same strings on every run, so CI is reproducible
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_STRINGS)
    def collect(value: str) -> None:
        values.append(value)

    collect()
    return values


def test_verdicts_equal_node() -> None:
    require_node()
    values = [value for value, _ in CASES] + _generated(600)
    assert len(values) > 500
    node = _node_verdicts(values)
    mismatches = {
        value: verdict
        for value, verdict in zip(values, node, strict=True)
        if is_valid_url(value) is not verdict
    }
    assert mismatches == {}
    # The table's expectations are Node's too, so it stays right where Node is absent.
    assert node[: len(CASES)] == [valid for _, valid in CASES]


@given(st.from_regex(_FAST_PATH, fullmatch=True))
@settings(derandomize=True, max_examples=300)
def test_shortcut_only_accepts_what_the_parser_accepts(value: str) -> None:
    assert _parses(value)


@pytest.mark.parametrize(
    "url",
    [
        "https://dev.azure.com/org/project/_git/repo",
        "https://github.com/org/repo/blob/main/README.md",
        "http://grafana.example.com:3000/d/abc?orgId=1#panel",
        "wss://events.example.com/stream",
    ],
)
def test_common_links_take_the_shortcut(url: str) -> None:
    # Links are checked in every document: the everyday forms must not need the full parser
    # (its speed is measured by benchmarks/validate.py, not here).
    assert _FAST_PATH.fullmatch(url) is not None
    assert is_valid_url(url) and _parses(url)
