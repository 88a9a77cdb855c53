"""The Results page applies the set's pre-registered exclusion rules, says whom each
names, lets the researcher switch them off as a sensitivity check, filters by
device and shows n per device class: the same numbers as `results --json`."""
from __future__ import annotations

import json

import pytest

from apptest_helpers import researcher_page, texts
from helpers import run_cli as run


@pytest.fixture
def ruled_set(capsys):
    code, _, err = run(capsys, "survey", "create", "--size", 15, "--seed", 3, "--attention-checks", 2,
                       "--exclude-failed-checks", "--exclude-speeders", 2900, "--exclude-incomplete")
    assert code == 0, err
    code, _, err = run(capsys, "survey", "simulate", "--participants", 16, "--seed", 5, "--dropout", 0.2)
    assert code == 0, err


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def device_table(at):
    return next(d.value for d in at.dataframe if "device" in d.value.columns).set_index("device")


def test_the_rules_apply_and_the_page_says_whom_each_names(capsys, ruled_set):
    code, out, _ = run(capsys, "results", "--json", "--include-simulated")
    data = json.loads(out)
    exclusions, counts = data["exclusions"], data["participants"]
    assert code == 0 and exclusions["excluded"] > 0

    at = researcher_page("results.py").run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception
    assert metrics(at)["Excluded"] == str(exclusions["excluded"])
    assert metrics(at)["Answers analysed"] == str(counts["answers_analysed"])
    assert (f"failed an attention check: {exclusions['failed_checks']}; median response time below 2900 ms: "
            f"{exclusions['speeder']}; did not answer every image: {exclusions['incomplete']}") in texts(at)
    assert "left out of every figure" in texts(at) and "Nobody withdrew." in texts(at)

    table = device_table(at)
    for name, figures in data["by_device"].items():
        assert (table.loc[name, "participants"], table.loc[name, "answers"]) == (figures["n"], figures["n_answers"])
    assert set(table["counted"]) == {"yes"}

    at.toggle(key="preregistered").set_value(False).run()  # the sensitivity check
    assert not at.exception
    assert metrics(at)["Excluded"] == "0" and "NOT applied" in texts(at)

    at.toggle(key="preregistered").set_value(True).run()
    at.multiselect(key="device_classes").select("mobile").run()
    assert not at.exception
    code, out, _ = run(capsys, "results", "--json", "--include-simulated", "--device", "mobile")
    mobile = json.loads(out)
    assert metrics(at)["Answers analysed"] == str(mobile["participants"]["answers_analysed"])
    assert int(metrics(at)["Excluded"]) == exclusions["excluded"] + mobile["participants"]["excluded_by"]["device"]
    assert device_table(at).loc["desktop", "counted"] == "no"
