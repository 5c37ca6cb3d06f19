"""Catalog readers: a folder on disk and a git tree at a ref, over real repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.catalog.gitreader import GitTreeReader
from bridge.catalog.reader import FolderReader, join
from bridge.errors import UsageError
from bridge.gitrepo import INDEX, GitRepository
from tests.support.git import git


def write(folder: Path, path: str, text: str) -> None:
    file = folder / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits (tagged v1, then main), a staged change and an unstaged one."""
    folder = tmp_path / "catalog"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    write(folder, "catalog-info.yaml", "v1 root\n")
    write(folder, "services/a/catalog-info.yaml", "v1 a\n")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "one")
    git(folder, "tag", "v1")
    write(folder, "services/a/catalog-info.yaml", "v2 a\n")
    write(folder, "services/b/catalog-info.yaml", "v2 b\n")
    os.symlink("../a/catalog-info.yaml", folder / "services/b/link.yaml")
    os.symlink("loop-2.yaml", folder / "loop-1.yaml")
    os.symlink("loop-1.yaml", folder / "loop-2.yaml")
    os.symlink("../../outside.yaml", folder / "services/out.yaml")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "two")
    write(folder, "catalog-info.yaml", "staged root\n")
    git(folder, "add", "catalog-info.yaml")
    write(folder, "catalog-info.yaml", "working root\n")
    write(folder, "untracked.yaml", "untracked\n")
    return folder


@pytest.mark.parametrize(
    ("base", "target", "expected"),
    [
        ("catalog-info.yaml", "./services/a.yaml", "services/a.yaml"),
        ("a/b/all.yaml", "../c/x.yaml", "a/c/x.yaml"),
        ("a/all.yaml", "./", "a"),
        ("all.yaml", ".", ""),
        ("a/all.yaml", "../../x.yaml", None),
        ("all.yaml", "/etc/passwd", None),
        ("all.yaml", "..\\x.yaml", None),
    ],
)
def test_join_stays_inside_the_tree(base: str, target: str, expected: str | None) -> None:
    assert join(base, target) == expected


def test_a_ref_reads_the_committed_bytes_and_leaves_the_working_tree_alone(repo: Path) -> None:
    status = git(repo, "status", "--porcelain")
    with GitRepository(repo) as repository:
        at_tag = GitTreeReader(repository, "v1")
        at_main = GitTreeReader(repository, "main")
        assert list(at_tag.files()) == ["catalog-info.yaml", "services/a/catalog-info.yaml"]
        assert at_tag.read("services/a/catalog-info.yaml", 100) == b"v1 a\n"
        assert at_main.read("services/a/catalog-info.yaml", 100) == b"v2 a\n"
        assert at_main.read("catalog-info.yaml", 100) == b"v1 root\n"
        assert "untracked.yaml" not in set(at_main.files())
        commit = git(repo, "rev-parse", "HEAD~1")
        assert GitTreeReader(repository, commit[:10]).commit == commit
        assert at_tag.label.endswith(f"at v1 ({commit[:12]})")
    assert git(repo, "status", "--porcelain") == status
    assert (repo / "catalog-info.yaml").read_text(encoding="utf-8") == "working root\n"


def test_the_index_is_what_is_staged(repo: Path) -> None:
    with GitRepository(repo) as repository:
        staged = GitTreeReader(repository, INDEX)
        assert staged.read("catalog-info.yaml", 100) == b"staged root\n"
        assert staged.label.endswith("at the index")
        assert "untracked.yaml" not in set(staged.files())


def test_folders_and_content_ids(repo: Path) -> None:
    with GitRepository(repo) as repository:
        reader = GitTreeReader(repository, "main")
        assert reader.is_dir("") and reader.is_dir("services") and reader.is_dir("services/a")
        assert not reader.is_dir("services/a/catalog-info.yaml") and not reader.is_dir("nope")
        assert reader.is_file("services/a/catalog-info.yaml") and not reader.is_file("services")
        blob = git(repo, "rev-parse", "main:services/a/catalog-info.yaml")
        assert reader.content_id("services/a/catalog-info.yaml") == blob
        assert reader.content_id("missing.yaml") is None


def test_links_are_followed_inside_the_tree_only(repo: Path) -> None:
    with GitRepository(repo) as repository:
        reader = GitTreeReader(repository, "main")
        assert reader.read("services/b/link.yaml", 100) == b"v2 a\n"
        for unusable in ("loop-1.yaml", "services/out.yaml"):
            assert unusable in set(reader.files())  # listed, so a search reports it
            assert not reader.is_file(unusable)
            with pytest.raises(OSError, match="symbolic link") as raised:
                reader.read(unusable, 100)
            assert not isinstance(raised.value, FileNotFoundError)
        with pytest.raises(FileNotFoundError):
            reader.read("services/c/catalog-info.yaml", 100)


def test_size_limit_is_checked_before_reading(repo: Path) -> None:
    with GitRepository(repo) as repository:
        reader = GitTreeReader(repository, "main")
        assert reader.read("services/a/catalog-info.yaml", 3) == 5
        # The oversized blob was drained from git's pipe: the next read gets its own bytes.
        assert reader.read("services/b/catalog-info.yaml", 100) == b"v2 b\n"


def test_bad_refs_and_folders_are_usage_errors(repo: Path, tmp_path: Path) -> None:
    with GitRepository(repo) as repository, pytest.raises(UsageError, match="'nope' is not"):
        GitTreeReader(repository, "nope")
    (tmp_path / "plain.txt").write_text("not a folder\n")
    # A sub-folder of a work tree is not its root: reading it would read the whole tree.
    for not_a_root in (tmp_path / "missing", tmp_path / "plain.txt", repo / "services"):
        with pytest.raises(UsageError, match="not a git repository"):
            GitRepository(not_a_root)


def test_folder_reader_is_the_working_tree(repo: Path) -> None:
    reader = FolderReader(repo)
    files = list(reader.files())
    assert files == sorted(files)
    assert "untracked.yaml" in files and not any(f.startswith(".git/") for f in files)
    assert "loop-1.yaml" in files  # listed; reading says why it is unusable
    assert reader.read("catalog-info.yaml", 100) == b"working root\n"
    assert reader.read("catalog-info.yaml", 3) == len("working root\n")
    assert reader.is_dir("services/a") and reader.is_file("services/b/link.yaml")
    assert reader.content_id("catalog-info.yaml") is None
    with pytest.raises(FileNotFoundError):
        reader.read("services/c/catalog-info.yaml", 100)


def test_prefetched_blobs_read_as_one_by_one(repo: Path) -> None:
    # Binary content with newlines and a file over the size limit: one batch of git
    # cat-file gives the same bytes (or size) as a read per file.
    (repo / "bin.dat").write_bytes(b"\n\0line\n\nend")
    write(repo, "big.yaml", "x" * 100)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "three")
    with GitRepository(repo) as repository:
        one_by_one = GitTreeReader(repository, "main")
        expected = {
            path: one_by_one.read(path, 50)
            for path in one_by_one.files()
            if "loop" not in path and "out" not in path
        }
        batched = GitTreeReader(repository, "main")
        batched.prefetch(batched.files(), 50)
        assert {path: batched.read(path, 50) for path in expected} == expected
    assert expected["bin.dat"] == b"\n\0line\n\nend"
    assert expected["big.yaml"] == 100
