"""Where the study's state lives, read from the environment each time it is asked.

STUDY_HOME    folder for the database, dataset caches, checkpoints, the generated
              researcher secret (default ./var, git-ignored)
DATABASE_URL  SQLAlchemy URL (default: SQLite file STUDY_HOME/study.db); a
              postgresql+psycopg:// URL points every part of the app at a server
CIFAKE_ROOT   the CIFAKE dataset: a Kaggle-layout folder, Kaggle's zip, a .tar.gz,
              or a folder of such archives (e.g. ../shared/data/cifake)
TRUSTED_PROXIES  proxies whose X-Forwarded-For the login slow-down believes:
              comma-separated addresses or networks (default 127.0.0.1,::1)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    cifake_root: Path | None
    trusted_proxies: str = DEFAULT_TRUSTED_PROXIES  # parsed by study.auth.trusted_proxies

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def checkpoint_dir(self) -> Path:
        return self.home / "checkpoints"

    @property
    def download_dir(self) -> Path:
        return self.home / "downloads"

    @property
    def reports_dir(self) -> Path:
        """Reproduction reports, one folder each (a job's: job-<id>)."""
        return self.home / "reports"

    @property
    def jobs_dir(self) -> Path:
        """Background jobs' logs and the workers' lock files."""
        return self.home / "jobs"


def get_settings() -> Settings:
    home = Path(os.environ.get("STUDY_HOME") or "var").expanduser().resolve()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{home / 'study.db'}"
    root = os.environ.get("CIFAKE_ROOT")
    return Settings(
        home=home,
        database_url=url,
        # Kept as typed: resolving here would let a bad CIFAKE_ROOT (a symlink loop,
        # ~nosuchuser) crash every page; the data layer resolves it with a clear error.
        cifake_root=Path(root) if root else None,
        trusted_proxies=os.environ.get("TRUSTED_PROXIES") or DEFAULT_TRUSTED_PROXIES,
    )


def ensure_home(settings: Settings | None = None) -> Settings:
    """Create STUDY_HOME and its sub-folders; owner-only, since it holds the secret."""
    settings = settings or get_settings()
    for folder in (settings.home, settings.cache_dir, settings.checkpoint_dir, settings.reports_dir,
                   settings.jobs_dir):
        folder.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(settings.home, 0o700)
    except OSError:  # a shared folder we do not own: leave its mode alone
        pass
    return settings
