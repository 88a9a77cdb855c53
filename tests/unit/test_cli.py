"""The command line's shared behaviour: help, one-line errors, init."""
import json
import os
import stat
from helpers import run_study

study = run_study


def test_help_lists_the_commands(study_home):
    result = study("--help", home=study_home)
    assert result.returncode == 0
    for command in ("init", "data"):
        assert command in result.stdout


def test_bad_arguments_give_one_line_and_exit_2(study_home):
    for args in (["no-such-command"], ["data", "prepare"], ["init", "--bogus"]):
        result = study(*args, home=study_home)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error:")


def test_init_creates_database_and_secret_and_says_where(study_home):
    result = study("init", "--json", home=study_home)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    secret_file = study_home / "researcher_password.txt"
    assert info["researcher_password"] == str(secret_file)
    assert (study_home / "study.db").exists()
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert secret not in result.stdout + result.stderr
    # A second start keeps the same secret.
    study("init", home=study_home)
    assert secret_file.read_text().strip() == secret
