"""`python -m study init`: create STUDY_HOME, the database and the researcher
secret before the server starts, and say where they are (`make run` calls it)."""
from __future__ import annotations

import os

from db import open_database
from db.migrate import current_revision
from study.auth import researcher_secret, secret_from_project_toml, secret_path
from study.commands import emit
from study.config import ensure_home


def register(sub) -> None:
    parser = sub.add_parser("init", help="create the database and the researcher secret")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args) -> int:
    settings = ensure_home()
    engine = open_database(settings.database_url)
    researcher_secret()  # generates it on the first start (and says where, on stderr)
    if os.environ.get("RESEARCHER_PASSWORD"):
        where = "RESEARCHER_PASSWORD (environment)"
    elif secret_from_project_toml():
        where = ".streamlit/secrets.toml"
    else:
        where = str(secret_path())
    result = {
        "study_home": str(settings.home),
        "database": engine.url.render_as_string(hide_password=True),
        "schema_revision": current_revision(engine),
        "researcher_password": where,
    }
    emit(result, args.json, [
        f"Study home:           {result['study_home']}",
        f"Database:             {result['database']} (schema {result['schema_revision']})",
        f"Researcher password:  in {where}; log in at http://localhost:8501/login",
    ])
    return 0
