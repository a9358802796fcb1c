"""House rules that a reviewer would otherwise have to count by hand (DESIGN.md §4)."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "warden"


def test_no_module_exceeds_800_lines() -> None:
    too_long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 800
    }
    assert too_long == {}


def test_no_utils_module() -> None:
    assert [p for p in SRC.rglob("utils.py")] == []
