"""Where things are, for every test: the repository root and the folder for screenshots and artifacts."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
