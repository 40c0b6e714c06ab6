"""The alert rules and the dashboard (deploy/monitoring): they parse, promtool (built by
`deploy/check install`) accepts the rules and their unit tests pass (each alert fires on series
that should fire it and stays quiet otherwise), each alert has its runbook entry, and every metric
an alert or a panel reads is one kaa's processes expose.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
import yaml

import services.identify.adapters.metrics
import services.outreach.entrypoints.metrics
import services.register.entrypoints.metrics
import shared.metrics
from tests.unit.deploy.manifests import DEPLOY, load_yaml

MONITORING = DEPLOY / "monitoring"
# Prometheus' own series a rule may read besides kaa's: whether a scrape answered.
PROMETHEUS_SERIES = {"up"}
_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
# The modules whose metrics are checked: imported for their registration in the default registry.
_MODULES = (shared.metrics, services.identify.adapters.metrics, services.outreach.entrypoints.metrics,
            services.register.entrypoints.metrics)  # fmt: skip


def promtool() -> Path:
    path = Path(
        subprocess.run(
            [str(DEPLOY / "check"), "path", "promtool"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    if not path.is_file():
        pytest.fail(f"promtool is not built: run deploy/check install ({path} is missing)")
    return path


def exposed_series() -> set[str]:
    """Every series name kaa's processes can expose, from the metric families registered by
    shared/metrics.py and the services' domain metrics."""
    assert all(m.__name__ for m in _MODULES)
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "gauge": ("",)}  # fmt: skip
    names = set()
    for family in prometheus_client.REGISTRY.collect():
        if family.name.startswith("kaa_"):
            names |= {family.name + s for s in suffixes[family.type]}
    return names


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads (not its functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _LABEL_LISTS.sub("", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group(0) in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(MONITORING / "alerts.yaml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_names_read_from_an_expression() -> None:
    expr = 'sum by (job, route) (rate(kaa_http_request_seconds_count{status=~"5.."}[5m])) / on (job) up > 0.05 and bool kaa_relay_lag_events'
    assert metric_names(expr) == {"kaa_http_request_seconds_count", "up", "kaa_relay_lag_events"}
    assert metric_names(
        "histogram_quantile(0.95, sum by (le) (rate(kaa_consumer_lag_mesages[5m])))"
    ) == {"kaa_consumer_lag_mesages"}
    assert "kaa_consumer_lag_mesages" not in exposed_series()  # so a misspelt name is caught
    assert "kaa_consumer_lag_messages" in exposed_series()
    assert "kaa_first_contact_overdue" in exposed_series()


def test_every_alert_reads_metrics_kaa_exposes_and_has_its_runbook_entry() -> None:
    known = exposed_series() | PROMETHEUS_SERIES
    headings = set(re.findall(r"^#{2,4} (Kaa\w+)\s*$", (DEPLOY / "RUNBOOK.md").read_text(), re.M))
    rules = alert_rules()
    assert len(rules) >= 10
    for rule in rules:
        name = rule["alert"]
        assert metric_names(rule["expr"]) <= known, name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["runbook"] == f"deploy/RUNBOOK.md#{name.lower()}", name
        assert name in headings, f"deploy/RUNBOOK.md has no heading '### {name}'"
    wanted = {"KaaConsumerLagGrowing", "KaaDeadLetters", "KaaRelayStalled", "KaaFirstContactOverdue",
              "KaaDependencyDown", "KaaServiceNotReady"}  # fmt: skip
    assert wanted <= {r["alert"] for r in rules}


def test_the_prometheus_rule_of_the_chart_holds_the_same_groups() -> None:
    docs = list(
        yaml.safe_load_all((DEPLOY / "kubernetes" / "base" / "monitoring.yaml").read_text())
    )
    (rule,) = [d for d in docs if d and d["kind"] == "PrometheusRule"]
    assert rule["spec"] == {"groups": load_yaml(MONITORING / "alerts.yaml")["groups"]}


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    tool = str(promtool())
    checked = subprocess.run(
        [tool, "check", "rules", str(MONITORING / "alerts.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [tool, "test", "rules", "alerts.test.yaml"],
        cwd=MONITORING,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = {r["alert"] for r in alert_rules()}
    covered = set(re.findall(r"alertname: (\w+)", (MONITORING / "alerts.test.yaml").read_text()))
    assert covered == alerts


def test_promtool_refuses_a_broken_rule_and_a_rule_that_no_longer_fires(tmp_path: Path) -> None:
    tool = str(promtool())
    text = (MONITORING / "alerts.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace(
            "max by (kommun) (kaa_first_contact_overdue) > 0",
            "max by (kommun (kaa_first_contact_overdue) > 0",
        )
    )
    checked = subprocess.run(
        [tool, "check", "rules", str(broken)], capture_output=True, text=True, check=False
    )
    assert checked.returncode != 0
    (tmp_path / "alerts.yaml").write_text(
        text.replace("kaa_first_contact_overdue) > 0", "kaa_first_contact_overdue) > 5")
    )
    shutil.copy(MONITORING / "alerts.test.yaml", tmp_path)
    tested = subprocess.run(
        [tool, "test", "rules", "alerts.test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode != 0
    assert "KaaFirstContactOverdue" in tested.stdout + tested.stderr


def test_the_dashboard_shows_what_operators_need_from_metrics_kaa_exposes() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "kaa-overview"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    known = exposed_series() | PROMETHEUS_SERIES
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = set().union(*(metric_names(e) for e in exprs))
    assert used <= known, used - known
    for needed in ("kaa_consumer_lag_messages", "kaa_events_applied_total", "kaa_dead_letters_total",
                   "kaa_relay_lag_events", "kaa_relay_last_published_timestamp_seconds",
                   "kaa_http_request_seconds_bucket", "kaa_dependency_up", "kaa_first_contact_overdue",
                   "kaa_retention_runs_total"):  # fmt: skip
        assert needed in used, needed
    assert all(
        p["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"] if p["type"] != "row"
    )
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
