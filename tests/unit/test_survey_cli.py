"""`python -m study survey ...`: one JSON object with --json, one error line and exit 2 on bad input."""
import json

import pytest

from study.cli import main
from helpers import run_cli as run


def test_create_status_close_and_export(capsys, tmp_path):
    code, out, _ = run(capsys, "survey", "create", "--size", "16", "--seed", "4", "--json")
    created = json.loads(out)
    assert code == 0 and created["status"] == "open" and created["size"] == 16 and created["is_demo"]
    code, out, _ = run(capsys, "survey", "status", "--json")
    status = json.loads(out)["open"]
    assert (status["id"], status["consented"], status["started"], status["completed"], status["answers"]) == (
        created["id"], 0, 0, 0, 0)
    code, out, _ = run(capsys, "survey", "export", "--out", str(tmp_path / "a.csv"), "--json")
    assert code == 0 and json.loads(out)["answers"] == 0
    assert (tmp_path / "a.csv").read_text().startswith("participant_id,") and (tmp_path / "a.txt").exists()
    code, out, _ = run(capsys, "survey", "close")
    assert code == 0 and "closed set" in out
    code, out, _ = run(capsys, "survey", "status", "--json")
    assert json.loads(out) == {"open": None}


def test_pool_design_from_the_command_line(capsys):
    code, out, _ = run(capsys, "survey", "create", "--size", "15", "--seed", "1", "--pool", "60", "--no-open", "--json")
    info = json.loads(out)
    assert code == 0 and (info["design"], info["pool_size"], info["status"]) == ("pool", 60, "draft")


def test_a_new_set_excludes_the_people_of_earlier_sets_of_the_same_pool_unless_told(capsys):
    first = json.loads(run(capsys, "survey", "create", "--seed", "1", "--json")[1])
    second = json.loads(run(capsys, "survey", "create", "--seed", "2", "--json")[1])
    assert first["exclude_sets"] == [] and second["exclude_sets"] == [first["id"]]
    third = json.loads(run(capsys, "survey", "create", "--seed", "3", "--exclude-sets", "none", "--json")[1])
    assert third["exclude_sets"] == []
    code, out, _ = run(capsys, "survey", "status")
    assert code == 0 and "excludes people of sets: none" in out and "started (saw the first image)" in out
    with pytest.raises(SystemExit) as exited:
        main(["survey", "create", "--seed", "4", "--exclude-sets", "a,b"])
    assert exited.value.code == 2 and "expected comma-separated set ids" in capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2(capsys):
    for argv, words in [
        (("survey", "create", "--size", "1", "--seed", "0"), "--size must be between 2"),
        (("survey", "create", "--seed", "0", "--split", "valid"), "split 'valid' is not in this dataset"),
        (("survey", "create", "--seed", "0", "--pool", "5"), "--pool must be at least --size"),
        (("survey", "close"), "no survey set is open"),
        (("survey", "open", "99"), "no survey set with id 99"),
        (("survey", "create", "--seed", "0", "--exclude-sets", "7"), "set(s) 7: no such set"),
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and err.startswith("error: ") and words in err and err.count("\n") == 1
