"""The bundled demo pack validates cleanly: no error and no warning, key balance included (issue 9)."""

from __future__ import annotations

from pathlib import Path

from content import check_pack

DEMO = Path(__file__).resolve().parents[2] / "content" / "packs" / "data-literacy"


def test_the_demo_pack_has_no_error_and_no_warning() -> None:
    result = check_pack(DEMO)
    assert result.pack is not None
    assert [str(issue) for issue in result.issues] == []
