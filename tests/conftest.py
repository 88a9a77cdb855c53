"""Every test gets its own STUDY_HOME (database, caches, secret) and none of the
developer's own configuration."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CIFAKE = REPO.parent / "shared" / "data" / "cifake"


@pytest.fixture(autouse=True)
def study_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "study_home"
    monkeypatch.setenv("STUDY_HOME", str(home))
    for name in ("DATABASE_URL", "CIFAKE_ROOT", "RESEARCHER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def shared_cifake() -> Path:
    """The real CIFAKE pack beside the repository; tests that need it skip without it."""
    if not (SHARED_CIFAKE / "cifake-test.tar.gz").exists():
        pytest.skip(f"real CIFAKE not found at {SHARED_CIFAKE}")
    return SHARED_CIFAKE
