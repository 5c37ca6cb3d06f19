"""The sync's writers: every format to files and to standard output, streaming, atomic
publication, failures named by path, and the table for people."""

from __future__ import annotations

import copy
import errno
import io
import json
import os
import random
import stat
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.errors import InputError, LockedError, UsageError
from bridge.secrets import register
from bridge.sync import output
from bridge.sync.output import FORMATS, TABLE_COLUMNS, open_sink
from tests.sync.test_schema import ERROR, EXAMPLES, WARNING, example_entity

Entity = dict[str, Any]
MACHINE_FORMATS = ("ndjson", "json", "yaml")
PREVIOUS = "previous run\n"

not_as_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere"
)


def entities(count: int) -> list[Entity]:
    """Distinct entities cycling through the schema's examples (every catalog status, nulls,
    developers or not), with non-ASCII text, listed in the outputs' order."""
    shapes = list(EXAMPLES.values())
    return [
        {
            **copy.deepcopy(shapes[index % len(shapes)]),
            "id": f"00000000-0000-4000-8000-{index:012d}",
            "name": f"dépôt-{index:05}",
            "project": "支付" if index >= count // 2 else "Payments",
        }
        for index in range(count)
    ]


def parse(output_format: str, text: str) -> list[Entity]:
    if output_format == "ndjson":
        return [json.loads(line) for line in text.splitlines()]
    parsed: list[Entity] = json.loads(text) if output_format == "json" else yaml.safe_load(text)
    return parsed


def write_all(sink: output.EntitySink, items: list[Entity]) -> None:
    for item in items:
        sink.write(item)


# --- Every machine format, to a file and to standard output ------------------------------


@pytest.mark.parametrize("count", [0, 1, len(EXAMPLES)])
@pytest.mark.parametrize("output_format", MACHINE_FORMATS)
def test_to_a_file_round_trips_in_order(tmp_path: Path, output_format: str, count: int) -> None:
    path = tmp_path / f"entities.{output_format}"
    items = entities(count)
    with open_sink(output_format, path) as sink:
        write_all(sink, items)
    text = path.read_text(encoding="utf-8")
    assert (parse(output_format, text) or []) == items
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left


@pytest.mark.parametrize("output_format", MACHINE_FORMATS)
def test_to_stdout_round_trips_in_order(
    capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    items = entities(3)
    with open_sink(output_format, "-") as sink:
        write_all(sink, items)
    assert parse(output_format, capsys.readouterr().out) == items


@pytest.mark.parametrize("output_format", MACHINE_FORMATS)
def test_to_a_given_stdout_round_trips_in_order(output_format: str) -> None:
    stream = io.StringIO()
    items = entities(3)
    with open_sink(output_format, None, stdout=stream) as sink:
        write_all(sink, items)
    assert parse(output_format, stream.getvalue()) == items


@pytest.mark.parametrize("output_format", ["json", "yaml"])
def test_whole_file_formats_keep_key_order_and_unicode(tmp_path: Path, output_format: str) -> None:
    path = tmp_path / "out"
    item = entities(2)[1]
    with open_sink(output_format, path) as sink:
        sink.write(item)
    text = path.read_text(encoding="utf-8")
    assert "dépôt-00001" in text
    assert "支付" in text  # not escaped
    (parsed,) = parse(output_format, text)
    assert list(parsed) == list(item)  # the entity's order, not sorted
    assert list(parsed["catalog"]) == list(item["catalog"])


def test_json_is_one_entity_per_line(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    items = entities(3)
    with open_sink("json", path) as sink:
        write_all(sink, items)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert [json.loads(line.removesuffix(",")) for line in lines[1:-1]] == items


def test_stdout_gets_utf8_whatever_its_encoding() -> None:
    # A pipe on Windows has a legacy code page; JSON is UTF-8 by definition.
    raw = io.BytesIO()
    stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="ascii")
    with open_sink("ndjson", None, stdout=stream) as sink:
        sink.write(entities(2)[1])
    assert "支付" in raw.getvalue().decode("utf-8")


def test_values_that_are_not_json_are_refused(tmp_path: Path) -> None:
    with open_sink("ndjson", tmp_path / "out") as sink, pytest.raises(ValueError):
        sink.write(example_entity(size=float("nan")))


# --- NDJSON: streamed to standard output, atomic to a file --------------------------------


def test_ndjson_lines_reach_stdout_before_close() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")
    first, second = entities(2)
    sink = open_sink("ndjson", None, stdout=stream)
    sink.write(second)  # in the order they come: a stream is followed as it goes
    assert parse("ndjson", raw.getvalue().decode("utf-8")) == [second]
    sink.write(first)
    assert parse("ndjson", raw.getvalue().decode("utf-8")) == [second, first]
    sink.close()


def test_ndjson_close_without_entities_empties_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    path.write_text(PREVIOUS, encoding="utf-8")
    open_sink("ndjson", path).close()
    assert path.read_text(encoding="utf-8") == ""


def test_writes_from_several_threads_stay_whole_and_ordered(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    items = entities(400)
    with open_sink("ndjson", path) as sink:
        threads = [
            threading.Thread(target=write_all, args=(sink, items[start::8])) for start in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert parse("ndjson", path.read_text(encoding="utf-8")) == items


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="a device that is always full")
@pytest.mark.parametrize("output_format", FORMATS)
def test_a_full_device_is_a_clean_error(output_format: str) -> None:
    full = r"^cannot write /dev/full: No space left on device$"
    with pytest.raises(InputError, match=full), open_sink(output_format, "/dev/full") as sink:
        write_all(sink, entities(3))


# --- Order ---------------------------------------------------------------------------------


def _placed(organization: str, project: str, name: str, profile: str = "p", id: int = 0) -> Entity:
    return example_entity(
        organization=organization,
        project=project,
        name=name,
        profile=profile,
        id=f"00000000-0000-4000-8000-{id:012d}",
    )


# Organization, project, repository case-insensitively; then profile, then id.
IN_ORDER = [
    _placed("contoso", "Apps", "api"),
    _placed("contoso", "apps", "API-gateway"),  # "api" is a prefix: it sorts first
    _placed("contoso", "apps", "Billing", profile="a"),
    _placed("contoso", "apps", "billing", profile="b", id=1),
    _placed("contoso", "apps", "billing", profile="b", id=2),
    _placed("Contoso", "Web", "api"),
    _placed("Contoso", "web site", "zeta"),
    _placed("Fabrikam", "Apps", "alpha"),
    _placed("fabrikam", "Apps", "Beta"),
    _placed("fabrikam", "Ápps", "alpha"),  # non-ASCII after ASCII, byte-wise in UTF-8
]


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_output_but_a_stream_is_in_a_stable_order(tmp_path: Path, output_format: str) -> None:
    texts = set()
    for seed in range(3):
        shuffled = IN_ORDER[:]
        random.Random(seed).shuffle(shuffled)
        path = tmp_path / f"out-{seed}"
        with open_sink(output_format, path) as sink:
            write_all(sink, shuffled)
        texts.add(path.read_bytes())
        if output_format != "table":
            assert parse(output_format, path.read_text(encoding="utf-8")) == IN_ORDER
    assert len(texts) == 1  # whatever the order they came in, the same bytes


@pytest.mark.parametrize("output_format", ["json", "yaml", "table"])
def test_whole_formats_to_stdout_are_ordered_too(output_format: str) -> None:
    shuffled = IN_ORDER[::-1]
    stream = io.StringIO()
    with open_sink(output_format, None, stdout=stream) as sink:
        write_all(sink, shuffled)
    if output_format == "table":
        rows = [line.split("  ")[0] for line in stream.getvalue().splitlines()[1:]]
        assert rows == [f"{e['organization']}/{e['project']}/{e['name']}" for e in IN_ORDER]
    else:
        assert parse(output_format, stream.getvalue()) == IN_ORDER


# --- Whole-file formats: atomic -----------------------------------------------------------


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_file_is_published_only_at_close(tmp_path: Path, output_format: str) -> None:
    path = tmp_path / "out"
    path.write_text(PREVIOUS, encoding="utf-8")
    sink = open_sink(output_format, path)
    write_all(sink, entities(3))
    assert path.read_text(encoding="utf-8") == PREVIOUS
    sink.close()
    assert path.read_text(encoding="utf-8") != PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("output_format", FORMATS)
def test_abort_keeps_the_previous_file_and_leaves_no_temporary(
    tmp_path: Path, output_format: str
) -> None:
    path = tmp_path / "out"
    path.write_text(PREVIOUS, encoding="utf-8")
    sink = open_sink(output_format, path)
    write_all(sink, entities(2))
    sink.abort()
    assert path.read_text(encoding="utf-8") == PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("output_format", FORMATS)
def test_an_exception_in_the_block_aborts(
    tmp_path: Path, output_format: str, error: type[BaseException]
) -> None:
    path = tmp_path / "out"
    path.write_text(PREVIOUS, encoding="utf-8")
    with pytest.raises(error), open_sink(output_format, path) as sink:
        write_all(sink, entities(2))
        raise error
    assert path.read_text(encoding="utf-8") == PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("output_format", FORMATS)
def test_abort_to_a_new_path_creates_nothing(tmp_path: Path, output_format: str) -> None:
    sink = open_sink(output_format, tmp_path / "out")
    sink.write(example_entity())
    sink.abort()
    assert os.listdir(tmp_path) == []


def test_a_failed_publication_is_reported_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.json"
    path.write_text(PREVIOUS, encoding="utf-8")
    sink = open_sink("json", path)
    sink.write(example_entity())

    def refuse(source: str, target: str) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError, match=f"cannot write {path}: Permission denied"):
        sink.close()
    assert path.read_text(encoding="utf-8") == PREVIOUS
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.skipif(sys.platform == "win32", reason="flock locks")
@pytest.mark.parametrize("output_format", FORMATS)
def test_a_second_sink_on_the_same_file_is_refused_until_the_first_ends(
    tmp_path: Path, output_format: str
) -> None:
    path = tmp_path / "out"
    path.write_text(PREVIOUS, encoding="utf-8")
    first = open_sink(output_format, path)
    assert (tmp_path / ".out.lock").read_text(encoding="utf-8") == f"{os.getpid()}\n"
    with pytest.raises(LockedError, match=f"^cannot write {path}: another catalog-bridge run"):
        open_sink(output_format, path)
    with pytest.raises(LockedError):  # whatever the format
        open_sink("ndjson" if output_format != "ndjson" else "json", path)
    write_all(first, entities(2))
    first.close()
    text = path.read_text(encoding="utf-8")
    if output_format == "table":
        assert len(text.splitlines()) == 1 + 2
    else:
        assert parse(output_format, text) == entities(2)
    assert os.listdir(tmp_path) == [path.name]  # the lock file went with the lock
    open_sink(output_format, path).abort()  # free again, after close as after abort
    open_sink(output_format, path).abort()


LEFTOVERS = (".out.json.a1b2c3d4.tmp", ".out.json.zz_9.tmp")
NOT_LEFTOVERS = (".out.json.lock.tmp.keep", ".other.json.a1b2c3d4.tmp", "out.json.a1b2c3d4.tmp")


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_published_file_removes_temporary_files_of_killed_runs(
    tmp_path: Path, output_format: str
) -> None:
    for name in (*LEFTOVERS, *NOT_LEFTOVERS):
        (tmp_path / name).write_text("cut short", encoding="utf-8")
    path = tmp_path / "out.json"
    aborted = open_sink(output_format, path)
    aborted.write(example_entity())
    aborted.abort()  # only a run that publishes cleans up
    assert sorted(os.listdir(tmp_path)) == sorted((*LEFTOVERS, *NOT_LEFTOVERS))
    with open_sink(output_format, path) as sink:
        sink.write(example_entity())
    assert sorted(os.listdir(tmp_path)) == sorted((path.name, *NOT_LEFTOVERS))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_file_modes(tmp_path: Path) -> None:
    new, replaced = tmp_path / "new.json", tmp_path / "replaced.json"
    replaced.write_text(PREVIOUS, encoding="utf-8")
    replaced.chmod(0o600)
    for path in (new, replaced):
        open_sink("json", path).close()
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # readable by teammates, like `init`
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o600  # kept


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges")
@pytest.mark.parametrize("output_format", FORMATS)
def test_through_a_symbolic_link_the_file_it_points_to_is_replaced(
    tmp_path: Path, output_format: str
) -> None:
    target = tmp_path / "data" / "entities.out"
    target.parent.mkdir()
    target.write_text(PREVIOUS, encoding="utf-8")
    link = tmp_path / "latest"
    link.symlink_to(target)
    with open_sink(output_format, link) as sink:
        with pytest.raises(LockedError):  # the target's lock, whichever name a run uses
            open_sink(output_format, target)
        sink.write(example_entity())
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text(encoding="utf-8") != PREVIOUS
    assert sorted(os.listdir(target.parent)) == [target.name]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_pipe_is_written_in_place(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text(encoding="utf-8")))
    reader.start()
    items = entities(2)
    with open_sink("json", pipe) as sink:
        write_all(sink, items)
    reader.join(timeout=10)
    assert json.loads(received[0]) == items
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # not replaced by a regular file


@pytest.mark.parametrize("output_format", ["json", "yaml", "table"])
def test_aborted_whole_formats_print_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    sink = open_sink(output_format, None)
    sink.write(example_entity())
    sink.abort()
    assert capsys.readouterr().out == ""


def test_ten_thousand_entities_to_json_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    count = 10_000
    # The serialised text alone of all entities; holding the dicts would take several times more.
    # The output is ordered at close: memory holds a short sort key per entity, no more.
    holding_all = count * len(json.dumps(example_entity()))
    tracemalloc.start()
    try:
        with open_sink("json", path) as sink:
            for index in range(count):
                sink.write(example_entity(name=f"repo-{index}"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < holding_all / 5
    written = json.loads(path.read_text(encoding="utf-8"))
    assert len(written) == count
    assert [written[0]["name"], written[-1]["name"]] == ["repo-0", "repo-9999"]
    assert [entity["name"] for entity in written] == sorted(f"repo-{i}" for i in range(count))


# --- Lifecycle ----------------------------------------------------------------------------


def test_close_and_abort_are_idempotent_and_the_first_decides(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    sink = open_sink("json", path)
    sink.write(example_entity())
    sink.close()
    sink.abort()
    sink.close()
    assert parse("json", path.read_text(encoding="utf-8")) == [example_entity()]


def test_writing_after_close_is_a_bug(tmp_path: Path) -> None:
    sink = open_sink("ndjson", tmp_path / "out")
    sink.close()
    with pytest.raises(ValueError, match="closed"):
        sink.write(example_entity())


# --- Destinations that cannot be written ---------------------------------------------------


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_missing_folder_is_named(tmp_path: Path, output_format: str) -> None:
    path = tmp_path / "nowhere" / "out"
    with pytest.raises(
        InputError, match=f"^cannot write {path}: the folder {path.parent} does not exist$"
    ):
        open_sink(output_format, path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_file_in_place_of_the_folder_is_named(tmp_path: Path, output_format: str) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    path = tmp_path / "file" / "out"
    with pytest.raises(InputError, match=f"^cannot write {path}: Not a directory$"):
        open_sink(output_format, path)


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_folder_as_destination_is_named(tmp_path: Path, output_format: str) -> None:
    with pytest.raises(InputError, match=f"^cannot write {tmp_path}: it is a folder$"):
        open_sink(output_format, tmp_path)


@not_as_root
@pytest.mark.parametrize("output_format", FORMATS)
def test_a_read_only_folder_is_named(tmp_path: Path, output_format: str) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match=f"^cannot write {folder / 'out'}: Permission denied$"):
            open_sink(output_format, folder / "out")
    finally:
        folder.chmod(0o755)


@not_as_root
@pytest.mark.parametrize("output_format", FORMATS)
def test_a_read_only_file_is_not_replaced(tmp_path: Path, output_format: str) -> None:
    path = tmp_path / "out"
    path.write_text(PREVIOUS, encoding="utf-8")
    path.chmod(0o444)
    with pytest.raises(InputError, match=f"^cannot write {path}: Permission denied$"):
        open_sink(output_format, path)
    assert path.read_text(encoding="utf-8") == PREVIOUS


def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown output format 'csv'; choose from: ndjson, json"):
        open_sink("csv")
    with pytest.raises(UsageError, match="unknown table column 'stars'; choose from: repository"):
        open_sink("table", columns=["owner", "stars"])
    with pytest.raises(UsageError, match="at least one"):
        open_sink("table", columns=[])
    with pytest.raises(UsageError, match="table format only"):
        open_sink("json", columns=["owner"])


# --- The table ----------------------------------------------------------------------------


def table(items: list[Entity], **options: Any) -> str:
    stream = io.StringIO()
    with open_sink("table", None, stdout=stream, **options) as sink:
        write_all(sink, items)
    return stream.getvalue()


def test_table_columns_are_aligned() -> None:
    items = [
        example_entity(catalog={"problems": [ERROR, WARNING] * 6, "status": "invalid"}),
        example_entity(
            organization="fabrikam",
            project="支付",
            name="core",
            freshness="n/a",
            last_commit_at=None,
            context=[],
            catalog={"status": "missing", "problems": []},
        ),
        example_entity(context=[{"application": "ledger", "source": "Backstage"}]),
    ]
    assert table(items) == (
        "REPOSITORY                     CATALOG  FRESHNESS  OWNER                   APPLICATION  PROBLEMS\n"  # noqa: E501
        "contoso/Payments/payments-api  invalid  active     group:default/payments  payments           12\n"  # noqa: E501
        "contoso/Payments/payments-api  found    active     -                       ledger              1\n"  # noqa: E501
        "fabrikam/支付/core             missing  n/a        -                       -                   0\n"  # noqa: E501
    )


def test_table_cells_are_cut_with_an_ellipsis() -> None:
    long = "x" * 100
    wide = "支" * 40  # two columns each
    text = table([example_entity(name=long), example_entity(project=wide)], columns=["repository"])
    header, first, second = text.splitlines()
    assert header == "REPOSITORY"
    assert first == f"contoso/Payments/{'x' * 42}…"
    assert len(first) == 60
    assert second == f"contoso/{'支' * 25}…"  # 8 + 50 + 1 columns: one more would overflow


def test_table_columns_can_be_chosen_and_ordered() -> None:
    text = table([example_entity()], columns=["problems", "repository"])
    assert text == "PROBLEMS  REPOSITORY\n       1  contoso/Payments/payments-api\n"
    assert set(TABLE_COLUMNS) == {
        "repository",
        "catalog",
        "freshness",
        "owner",
        "application",
        "problems",
    }


def test_table_cells_are_one_line_of_plain_text() -> None:
    owner = "group:\x1b[31mred\x1b[0m\nteam\tB"
    text = table(
        [example_entity(context=[{"owner": owner, "source": "Backstage"}])], columns=["owner"]
    )
    assert text == "OWNER\ngroup: [31mred [0m team B\n"


def test_no_format_writes_a_registered_secret() -> None:
    token = "pat-0123456789abcdef-never-printed"
    register(token)
    item = example_entity(context=[{"owner": f"user:{token}", "source": "Backstage"}])
    for output_format in FORMATS:
        stream = io.StringIO()
        with open_sink(output_format, None, stdout=stream) as sink:
            sink.write(item)
        assert token not in stream.getvalue(), output_format
        assert "***" in stream.getvalue(), output_format


def test_table_is_printed_at_close_only(capsys: pytest.CaptureFixture[str]) -> None:
    sink = open_sink("table", None)
    sink.write(example_entity())
    assert capsys.readouterr().out == ""
    sink.close()
    assert capsys.readouterr().out.splitlines()[1].startswith("contoso/Payments/payments-api")


def test_aborted_table_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    sink = open_sink("table", None)
    sink.write(example_entity())
    sink.abort()
    assert capsys.readouterr().out == ""


def test_empty_table_is_its_header(tmp_path: Path) -> None:
    path = tmp_path / "table.txt"
    open_sink("table", path).close()
    assert path.read_text(encoding="utf-8") == (
        "REPOSITORY  CATALOG  FRESHNESS  OWNER  APPLICATION  PROBLEMS\n"
    )


def test_table_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "table.txt"
    with open_sink("table", path) as sink:
        sink.write(example_entity(project="支付"))
    assert path.read_text(encoding="utf-8").splitlines()[1].startswith("contoso/支付/payments-api")
