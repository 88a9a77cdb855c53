"""Every test gets its own STUDY_HOME (database, caches, secret) and none of the
developer's own configuration.

Tests come in three tiers, one folder each, and each folder's tests carry its
marker (run one tier with `pytest tests/unit` or `pytest -m unit`):
- unit/: the code in this process, and the CLI; no server, browser or AppTest;
- pages/: the pages through Streamlit's AppTest;
- system/: real servers (websocket clients, killed processes), and real browsers
  in system/browser/."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO

SHARED_CIFAKE = REPO.parent / "shared" / "data" / "cifake"


TIERS = ("unit", "pages", "system")


def pytest_collection_modifyitems(items):
    for item in items:
        tier = Path(item.path).relative_to(Path(__file__).parent).parts[0]
        if tier in TIERS:
            item.add_marker(tier)


@pytest.fixture(autouse=True)
def study_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "study_home"
    monkeypatch.setenv("STUDY_HOME", str(home))
    for name in ("DATABASE_URL", "CIFAKE_ROOT", "RESEARCHER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def fresh_failures(monkeypatch):
    """The login's failure counts are process-wide: start and leave them empty for other tests."""
    from study import auth

    monkeypatch.setattr(auth, "_failures", {})
    monkeypatch.setattr(auth, "_client_slots", {})
    monkeypatch.setattr(auth, "_client_locks", {}, raising=False)


@pytest.fixture
def shared_cifake() -> Path:
    """The real CIFAKE pack beside the repository; tests that need it skip without it."""
    if not (SHARED_CIFAKE / "cifake-test.tar.gz").exists():
        pytest.skip(f"real CIFAKE not found at {SHARED_CIFAKE}")
    return SHARED_CIFAKE


# --- PostgreSQL (issue #8): the same tests against SQLite and a real server -------
# `backend` runs a test twice: on the SQLite file in STUDY_HOME, and on a fresh
# PostgreSQL database (DATABASE_URL points the whole app at it). The server is
# TEST_POSTGRES_URL's, else a throwaway cluster from Debian's binaries (tests/pg.py);
# the PostgreSQL half skips only when neither exists.
import pg as _pg  # noqa: E402  (tests/ is on sys.path: conftest.py's own folder)


@pytest.fixture(scope="session")
def postgres_cluster():
    try:
        cluster = _pg.get_cluster()
    except _pg.PostgresUnavailable as reason:
        pytest.skip(str(reason))
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster, study_home, monkeypatch) -> str:
    """A fresh PostgreSQL database, set as DATABASE_URL for this test; dropped after."""
    url = postgres_cluster.create_database()
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, study_home) -> str:
    """'sqlite' or 'postgresql'; DATABASE_URL (get_settings().database_url) follows it."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")
    return request.param


@pytest.fixture
def no_leftover_jobs(study_home):
    """A failed assertion must not leave a long training running in the background."""
    yield
    from study import jobs

    for job in jobs.list_jobs(status=("queued", "running")):
        jobs.request_cancel(job["id"])


@pytest.fixture
def finished_run():
    """A finished training run with an (untrained, tiny) LeNet checkpoint: pages and
    hints read runs, not training, so weights need not be good."""
    import torch

    from db import open_database
    from db.runs import create_run, finish_run
    from models.checkpoint import save_checkpoint
    from models.zoo import create_model
    from study.config import ensure_home, get_settings

    settings = ensure_home()
    engine = open_database(settings.database_url)
    run_id = create_run(engine, "lenet", {"model": "lenet"}, dataset_source="demo")
    torch.manual_seed(0)
    path = save_checkpoint(get_settings().checkpoint_dir / f"{run_id}-lenet.pt", create_model("lenet"),
                           extra={"run_id": run_id, "train_config": {"filter": None}})
    finish_run(engine, run_id, "finished", metrics={"test_accuracy": 0.5}, checkpoint_path=str(path))
    return engine, run_id
