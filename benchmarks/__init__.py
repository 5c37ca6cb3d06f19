"""Benchmark scripts: each prints its figures against the goals (``python -m benchmarks.NAME``)."""


def compile_project() -> None:
    """Write the project's bytecode, as an installed package has it: with
    PYTHONDONTWRITEBYTECODE set, every process a benchmark starts would compile ``bridge/``
    again and time that too."""
    import compileall
    from pathlib import Path

    compileall.compile_dir(Path(__file__).resolve().parent.parent / "bridge", quiet=1)
