from __future__ import annotations

from pathlib import Path

import pytest

FIXTURE_TREE = Path(__file__).resolve().parent.parent / "audit_fixtures"


@pytest.fixture
def fixture_tree() -> Path:
    return FIXTURE_TREE


@pytest.fixture
def write_tree(tmp_path: Path):
    """Writes {relative path: source} under a temporary folder and returns the folder."""

    def write(files: dict[str, str | bytes]) -> Path:
        for relative, source in files.items():
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                path.write_bytes(source)
            else:
                path.write_text(source, encoding="utf-8")
        return tmp_path

    return write
