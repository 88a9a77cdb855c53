"""`python -m study survey ...`: one JSON object with --json, one error line and exit 2 on bad input."""
import json

from study.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_status_close_and_export(capsys, tmp_path):
    code, out, _ = run(capsys, "survey", "create", "--size", "16", "--seed", "4", "--json")
    created = json.loads(out)
    assert code == 0 and created["status"] == "open" and created["size"] == 16 and created["is_demo"]
    code, out, _ = run(capsys, "survey", "status", "--json")
    status = json.loads(out)["open"]
    assert (status["id"], status["participants"], status["completed"], status["answers"]) == (created["id"], 0, 0, 0)
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


def test_bad_input_is_one_line_and_exit_2(capsys):
    for argv, words in [
        (("survey", "create", "--size", "1", "--seed", "0"), "--size must be between 2"),
        (("survey", "create", "--seed", "0", "--split", "valid"), "split 'valid' is not in this dataset"),
        (("survey", "create", "--seed", "0", "--pool", "5"), "--pool must be at least --size"),
        (("survey", "close"), "no survey set is open"),
        (("survey", "open", "99"), "no survey set with id 99"),
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and err.startswith("error: ") and words in err and err.count("\n") == 1
