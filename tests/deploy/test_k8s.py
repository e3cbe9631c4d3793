"""deploy/k8s validated offline: built-in kinds by kubernetes-validate (bundled schemas, strict), the
ServiceMonitor by jsonschema against a vendored subset of its CRD, and the wiring between them."""

from __future__ import annotations

import json

import jsonschema
import kubernetes_validate
import pytest
import yaml

from stream.config import Settings
from tests.deploy.tools import DEPLOY

K8S = DEPLOY / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind() -> dict[str, dict]:
    return {doc["kind"]: doc for path in MANIFESTS for doc in documents(path)}


BUILT_IN = [p for p in MANIFESTS if p.name != "servicemonitor.yaml"]


@pytest.mark.parametrize("path", BUILT_IN, ids=lambda p: p.name)
def test_built_in_resources_match_the_kubernetes_schema(path):
    for doc in documents(path):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_a_wrong_field_is_rejected():
    bad = json.loads(json.dumps(by_kind()["StatefulSet"]))
    bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, kubernetes_validate.latest_version(), strict=True)


def test_the_service_monitor_matches_its_crd_schema():
    schema = json.loads((K8S / "schemas" / "servicemonitor-v1.subset.json").read_text())
    monitor = by_kind()["ServiceMonitor"]
    jsonschema.validate(monitor, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**monitor, "spec": {**monitor["spec"], "endpoint": []}}, schema)


def test_the_pieces_fit_together():
    kinds = by_kind()
    worker = kinds["StatefulSet"]["spec"]["template"]
    container = worker["spec"]["containers"][0]
    port = container["ports"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert kinds["Service"]["spec"]["selector"].items() <= worker["metadata"]["labels"].items()
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    monitor = kinds["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= kinds["Service"]["metadata"]["labels"].items()
    assert monitor["endpoints"][0]["port"] == kinds["Service"]["spec"]["ports"][0]["name"]
    env_from = {next(iter(source.values()))["name"] for source in container["envFrom"]}
    assert {kinds["ConfigMap"]["metadata"]["name"], kinds["Secret"]["metadata"]["name"]} == env_from
    config = kinds["ConfigMap"]["data"]
    assert int(config["SPIKEWATCH_WORKER__WEB_PORT"]) == port["containerPort"]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert {p.name for p in MANIFESTS} - set(kustomization["resources"]) == {"secret.example.yaml"}


def test_the_config_map_and_secret_are_valid_worker_settings():
    kinds = by_kind()
    environ = {**kinds["ConfigMap"]["data"], **kinds["Secret"]["stringData"]}
    from stream.config import load_settings

    settings: Settings = load_settings(environ=environ)
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.sasl_password is not None
    assert settings.worker.web_host == "0.0.0.0"
