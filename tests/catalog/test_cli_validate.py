"""``catalog-bridge validate`` end to end: a real process, real files, exit codes, formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VALID = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  lifecycle: production
  owner: team-a
"""
INVALID = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: My_Service!
spec:
  type: service
  lifecycle: production
"""
LINT_ONLY = VALID.replace(
    "  name: payments\n",
    "  name: payments\n  annotations:\n    dev.azure.com/project-repo: just-a-project\n",
)


def run(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "TF_BUILD")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bridge", "validate", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "catalog-info.yaml").write_text(VALID)
    (tmp_path / "services" / "api").mkdir(parents=True)
    (tmp_path / "services" / "api" / "catalog-info.yml").write_text(INVALID)
    (tmp_path / "services" / "other.yaml").write_text(INVALID)
    (tmp_path / "node_modules" / "dep").mkdir(parents=True)
    (tmp_path / "node_modules" / "dep" / "catalog-info.yaml").write_text(INVALID)
    return tmp_path


def test_valid_file_exits_zero_with_summary(repo: Path) -> None:
    result = run("catalog-info.yaml", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 file, 1 document: 1 valid, 0 invalid; 0 errors, 0 warnings"


def test_invalid_file_reports_backstage_first_error_with_position(repo: Path) -> None:
    result = run("services/api/catalog-info.yml", cwd=repo)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        'services/api/catalog-info.yml:4:9: error [field-format] "metadata.name" is not valid; '
        "expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 "
        'characters in total but found "My_Service!".'
    )
    # The kind check still runs: the missing owner is reported too (no fix-one-rerun loop).
    assert lines[1].startswith("services/api/catalog-info.yml:5:1: error [kind-schema] /spec must")
    assert "missingProperty: owner" in lines[1]
    assert lines[-1].endswith("1 invalid; 2 errors, 0 warnings")


def test_folders_are_searched_for_catalog_files_only(repo: Path) -> None:
    result = run(".", cwd=repo)
    assert result.returncode == 1
    reported = {line.split(":", 1)[0] for line in result.stdout.splitlines()[:-1]}
    assert reported == {"./services/api/catalog-info.yml"}  # node_modules skipped
    assert result.stdout.splitlines()[-1].startswith("2 files, 2 documents")


def test_glob_widens_the_search(repo: Path) -> None:
    result = run(".", "--glob", "**/*.yaml", cwd=repo)
    files = {line.split(":", 1)[0] for line in result.stdout.splitlines()[:-1]}
    assert files == {"./services/other.yaml"}
    assert result.stdout.splitlines()[-1].startswith("2 files")


def test_stdin(repo: Path) -> None:
    result = run("-", cwd=repo, stdin=INVALID)
    assert result.returncode == 1
    assert result.stdout.startswith("<stdin>:4:9: error [field-format]")


def test_json_lines_one_object_per_document(repo: Path) -> None:
    (repo / "multi.yaml").write_text(VALID + "---\n" + INVALID)
    result = run("--format", "json", "multi.yaml", cwd=repo)
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["index"], r["ok"], r["kind"], r["name"]) for r in rows] == [
        ("multi.yaml", 0, True, "Component", "payments"),
        ("multi.yaml", 1, False, "Component", "My_Service!"),
    ]
    first = rows[1]["errors"][0]
    assert (first["line"], first["column"], first["rule"], first["stage"]) == (
        13,
        9,
        "field-format",
        "policy",
    )
    assert first["backstage"].startswith(
        'Policy check failed for component:default/my_service!; caused by "metadata.name"'
    )
    assert rows[0]["namespace"] == "default" and rows[0]["warnings"] == []


def test_ci_formats_are_chosen_from_the_environment(repo: Path) -> None:
    github = run("services/api/catalog-info.yml", cwd=repo, env={"GITHUB_ACTIONS": "true"})
    assert github.stdout.startswith(
        "::error file=services/api/catalog-info.yml,line=4,col=9,title=field-format::"
    )
    azure = run("services/api/catalog-info.yml", cwd=repo, env={"TF_BUILD": "True"})
    assert azure.stdout.startswith(
        "##vso[task.logissue type=error;sourcepath=services/api/catalog-info.yml;linenumber=4;"
        "columnnumber=9;code=field-format;]"
    )
    explicit = run(
        "--format", "text", "services/api/catalog-info.yml", cwd=repo, env={"TF_BUILD": "True"}
    )
    assert explicit.stdout.startswith("services/api/catalog-info.yml:4:9: error")


def test_lint_is_a_warning_unless_strict(repo: Path) -> None:
    (repo / "lint.yaml").write_text(LINT_ONLY)
    relaxed = run("lint.yaml", cwd=repo)
    assert relaxed.returncode == 0
    assert "lint.yaml:6:33: warning [ado-project-repo]" in relaxed.stdout
    strict = run("--strict", "lint.yaml", cwd=repo)
    assert strict.returncode == 1
    assert "lint.yaml:6:33: error [ado-project-repo]" in strict.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "missing.yaml: no such file or directory"),
        (["services/none"], "services/none: no such file or directory"),
        (["--format", "xml", "catalog-info.yaml"], "Invalid value for '--format'"),
    ],
)
def test_usage_errors_exit_two(repo: Path, args: list[str], message: str) -> None:
    result = run(*args, cwd=repo)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_no_catalog_files_is_a_usage_error(tmp_path: Path) -> None:
    result = run(".", cwd=tmp_path)
    assert result.returncode == 2
    assert "no catalog files found" in result.stderr


def test_hostile_input_gets_clear_errors_not_tracebacks(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text(VALID + "# " + "x" * 300 + "\n")
    (tmp_path / "binary.yaml").write_bytes(b"apiVersion: x\n\x00\x01\x02")
    (tmp_path / "latin1.yaml").write_bytes(VALID.replace("payments", "caf\xe9").encode("latin-1"))
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"{c}: &{c} [" + ",".join([f"*{chr(ord(c) - 1)}"] * 9) + "]" for c in "bcdefghi"]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 600 + "]" * 600 + "\n")
    big = run("--max-bytes", "300", "big.yaml", cwd=tmp_path)
    assert big.returncode == 1
    assert big.stdout.startswith(
        "big.yaml: error [file-too-large] the file is 442 bytes, over the 300-byte"
    )
    result = run("binary.yaml", "latin1.yaml", "bomb.yaml", "deep.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ""  # no traceback, no crash
    out = result.stdout
    assert "binary.yaml:2:1: error [file-binary]" in out
    assert "latin1.yaml:4:12: error [file-encoding] the file is not valid UTF-8 (byte 0xe9)" in out
    assert "bomb.yaml:4:" in out and "[yaml-alias] too many alias expansions" in out
    assert "deep.yaml:1:" in out and "[yaml-depth] nesting deeper than 256 levels" in out
    assert out.splitlines()[-1] == (
        "4 files, 2 documents: 0 valid, 2 invalid, 2 unreadable; 4 errors, 0 warnings"
    )


def test_placeholders_cannot_escape_the_validated_tree(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    project = tmp_path / "project"
    project.mkdir()
    (project / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: api}\n"
        "spec: {type: openapi, lifecycle: production, owner: a,"
        " definition: {$text: ../secret.txt}}\n"
    )
    result = run(".", cwd=project)
    assert result.returncode == 1
    assert (
        '[placeholder] placeholder $text: "../secret.txt" points outside the validated'
        in result.stdout
    )
    assert "top secret" not in result.stdout


def test_help_documents_exit_codes_and_examples(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "validate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(result.stdout.split())
    assert "Exit codes: • 0: Success: every file valid" in text
    assert "catalog-bridge validate catalog-info.yaml" in text


@pytest.fixture
def links(tmp_path: Path) -> Path:
    """A tree with a valid file, a file symlink loop, a dangling link and a folder link loop."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "catalog-info.yaml").write_text(VALID)
    looping = tmp_path / "loop"
    looping.mkdir()
    (looping / "catalog-info.yaml").symlink_to("other.yaml")
    (looping / "other.yaml").symlink_to("catalog-info.yaml")
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / "catalog-info.yaml").symlink_to("gone.yaml")
    (tmp_path / "ok" / "up").symlink_to("..")  # a folder link back up: never followed
    (tmp_path / "self").symlink_to("self")  # a link to itself, not a catalog file name
    return tmp_path


def test_symlink_loops_and_dangling_links_in_a_folder_are_unreadable_files(links: Path) -> None:
    result = run(".", cwd=links)
    assert result.returncode == 1
    assert result.stderr == ""  # no internal error
    assert result.stdout.splitlines() == [
        "./dangling/catalog-info.yaml: error [file-unreadable] cannot read the file: dangling "
        "symbolic link (its target gone.yaml does not exist)",
        "./loop/catalog-info.yaml: error [file-unreadable] cannot read the file: symbolic link "
        "loop",
        "3 files, 1 document: 1 valid, 0 invalid, 2 unreadable; 2 errors, 0 warnings",
    ]


def test_a_symlink_loop_named_directly_is_an_unreadable_file(links: Path) -> None:
    result = run("loop/catalog-info.yaml", "--glob", "*.yaml", "loop", cwd=links)
    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "loop/catalog-info.yaml: error [file-unreadable] cannot read the file: symbolic link loop"
    )
    assert lines[1:3] == [
        "loop/catalog-info.yaml: error [file-unreadable] cannot read the file: symbolic link loop",
        "loop/other.yaml: error [file-unreadable] cannot read the file: symbolic link loop",
    ]


def test_a_missing_path_is_still_a_usage_error(tmp_path: Path) -> None:
    result = run("nothing-here.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing-here.yaml: no such file or directory" in result.stderr


def test_an_unknown_directive_is_a_warning_and_the_entity_keeps_index_0(tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text("%FOO bar\n---\n" + VALID)
    result = run("--format", "json", "catalog-info.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    (report,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (report["index"], report["ok"], report["name"]) == (0, True, "payments")
    assert [(w["line"], w["column"], w["rule"], w["message"]) for w in report["warnings"]] == [
        (1, 1, "yaml-directive", "Unknown directive %FOO")
    ]
