"""deploy/prometheus checked by promtool: config, rules, and the rule unit tests (firing and no-page)."""

from __future__ import annotations

import subprocess

import yaml

from tests.deploy.tools import DEPLOY, binary

PROMETHEUS = DEPLOY / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=120)


def test_the_config_and_every_rule_file_pass_promtool_checks():
    config = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rule_files = sorted((PROMETHEUS / "rules").glob("*.yml"))
    rules = promtool("check", "rules", *map(str, rule_files))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS" in rules.stdout


def test_rule_unit_tests_pass():
    run = promtool("test", "rules", str(PROMETHEUS / "tests" / "alerts.test.yml"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_broken_expectation_makes_promtool_test_fail(tmp_path):
    # The unit tests above could pass vacuously if promtool ignored them; a wrong label must fail.
    tests = yaml.safe_load((PROMETHEUS / "tests" / "alerts.test.yml").read_text())
    tests["rule_files"] = [str(PROMETHEUS / "rules" / name) for name in ("recording.yml", "alerts.yml")]
    first = tests["tests"][0]["alert_rule_test"][1]["exp_alerts"][0]
    first["exp_labels"]["feature"] = "billing"
    broken = tmp_path / "broken.test.yml"
    broken.write_text(yaml.safe_dump(tests))
    run = promtool("test", "rules", str(broken))
    assert run.returncode != 0
    assert "SpikewatchRegression" in run.stdout + run.stderr


def test_only_the_regression_alert_pages_and_every_alert_has_a_runbook_section():
    runbook = (DEPLOY / "RUNBOOK.md").read_text().lower()
    groups = yaml.safe_load((PROMETHEUS / "rules" / "alerts.yml").read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"]]
    paging = [rule["alert"] for rule in alerts if rule["labels"].get("page") == "true"]
    assert paging == ["SpikewatchRegression"]
    for rule in alerts:
        anchor = rule["annotations"]["runbook_url"].split("#")[1]
        assert f"## {rule['alert'].lower()}" in runbook, anchor
        assert rule["labels"]["kind"]
