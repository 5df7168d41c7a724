"""Where the tests find the project and the shared anchors."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "histories" / "examples"
SHARED = ROOT.parent / "shared"
ANCHORS = SHARED / "anchors" / "porcupine"
ANCHORS_MISSING = f"anchor histories not found at {ANCHORS} (../shared beside the project root)"
