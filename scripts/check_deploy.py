#!/usr/bin/env python3
"""The deployment checks behind scripts/check-deploy (run with its venv's python).

Checks, each printed as it runs:
  - compose: `docker-compose config -q` accepts compose/docker-compose.yml;
  - settings: every SK_ variable compose or the rendered chart gives a service is one of that
    service's settings (README's configuration tables), so none is misspelt and ignored, and
    each service binary accepts its whole environment (`--check-config`: values in range,
    secrets long enough, URLs that parse);
  - yamllint: the chart's values, Chart.yaml, the examples, the compose YAML (Prometheus
    config included) and, per render below, the rendered manifests;
  - schema: values.schema.json is draft-07, values.yaml and k8s/examples/*.yaml satisfy it
    (jsonschema and Helm's own validator), deliberately bad values are refused by both, and
    the values table of k8s/README.md documents every value of the schema and no other;
  - render: the chart rendered with the Helm SDK (defaults, the production example, two
    releases side by side): every object labelled with its release, names and selectors that
    never collide, probes, the headless sk-app Service the gateway points at, PDBs, HPAs,
    ServiceMonitors, the Ingress, no secret in a ConfigMap; helm lint --strict;
  - drift: the release build command of compose/Dockerfile is the one of scripts/demo and of
    the README;
  - metrics: every metric a Grafana dashboard's queries use is in METRICS.md's table, with the
    labels the table gives it, and every Prometheus scrape target is a compose service.
Ends with "deploy checks: N passed" (or "N passed, M failed" and exit status 1).
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import re
import shlex
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

import helm_python as helm
import jsonschema
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "k8s" / "flash-sale"
EXAMPLES = ROOT / "k8s" / "examples"
K8S_README = ROOT / "k8s" / "README.md"
COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
DASHBOARDS = COMPOSE_DIR / "grafana" / "dashboards"
METRICS_MD = ROOT / "METRICS.md"

# Component (binary) -> values key, port, whether the chart offers an HPA.
COMPONENTS = {
    "gateway": ("gateway", 8080, True),
    "sk-app": ("skApp", 8081, True),
    "sk-core": ("skCore", 8082, True),
    "sk-admin": ("skAdmin", 8083, False),
    "order-consumer": ("orderConsumer", 8084, False),
}
SECRET_ENV = {
    "SK_JWT__SECRET", "SK_JWT__PREVIOUS_KEYS", "SK_SECURITY__INTERNAL_SECRET",
    "SK_SECURITY__PURCHASE_TOKEN_SECRET", "SK_REDIS__URL", "SK_MYSQL__URL",
}
# Every optional part switched on at once (on top of the production example), so the checks
# and yamllint see each template branch.
EVERYTHING: dict[str, Any] = {
    "commonLabels": {"team": "shop"},
    "imagePullSecrets": [{"name": "registry"}],
    "serviceAccount": {"annotations": {"example.com/role": "flash-sale"}},
    "otel": {"endpoint": ""},
    "secrets": {"existingSecret": "", "jwtSecret": "j" * 40, "jwtPreviousKeys": "old:" + "o" * 40,
                "internalSecret": "i" * 40, "purchaseTokenSecret": "p" * 40},
    "preStopSleepSeconds": 0,
    "gateway": {
        "service": {"type": "LoadBalancer", "port": 443, "nodePort": 30443, "externalTrafficPolicy": "Local",
                    "annotations": {"example.com/lb": "internal"}},
        # A large number must reach the ConfigMap as 1000000, not 1e+06.
        "config": {"SK_ROUTES__APP__PER_SEC": 1000000},
        "podAnnotations": {"example.com/scrape": "true"}, "podLabels": {"tier": "edge"},
        "nodeSelector": {"pool": "edge"},
        "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "gateway"}}}}]}},
    },
    "skCore": {"autoscaling": {"targetMemoryUtilizationPercentage": 80}},
    "skAdmin": {"pdb": {"enabled": False}, "config": {"SK_MYSQL__POOL_MAX": 16}},
}
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"


class CheckFailed(Exception):
    """A check's finding (printed without a traceback)."""


def require(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Runner:
    """Runs checks, prints one line each, counts."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def section(self, title: str) -> None:
        print(f"==> {title}", flush=True)

    def check(self, name: str, fn: Callable[[], str | None]) -> bool:
        try:
            detail = fn()
        except CheckFailed as failure:
            self._fail(name, str(failure))
            return False
        except Exception as error:  # noqa: BLE001 - a crash is a failed check, not a stop
            self._fail(name, f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
            return False
        self.passed += 1
        print(f"  ok    {name}{f' ({detail})' if detail else ''}", flush=True)
        return True

    def _fail(self, name: str, message: str) -> None:
        self.failed.append(name)
        indented = "\n".join("          " + line for line in message.rstrip().splitlines())
        print(f"  FAIL  {name}\n{indented}", flush=True)


# --- helpers ---------------------------------------------------------------------------------


def rel(path: Path) -> str:
    """A path as shown in messages: relative to the repository when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def merge(base: Any, override: Any) -> Any:
    """Helm's coalescing: maps merge recursively, null deletes a key, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def lint_yaml(text: str, label: str, config: YamlLintConfig) -> list[str]:
    """yamllint errors (warnings are printed, not counted) of one document stream."""
    errors = []
    for problem in linter.run(text, config, label):
        line = f"{label}:{problem.line}:{problem.column}: [{problem.level}] {problem.message}"
        if problem.level == "error":
            errors.append(line)
        else:
            print(f"          warning {line}")
    return errors


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.y*ml") if p.is_file())


def compose_yaml_files() -> list[Path]:
    return sorted(p for p in COMPOSE_DIR.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))


# --- compose ---------------------------------------------------------------------------------


def check_compose_config(docker_compose: str) -> str:
    require(COMPOSE_FILE.is_file(), f"{rel(COMPOSE_FILE)} is missing")
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    require(result.returncode == 0,
            f"docker-compose config -q exited {result.returncode}:\n{result.stderr}{result.stdout}")
    return f"{docker_compose} config -q"


def check_yamllint_files(config: YamlLintConfig) -> str:
    files = [CHART / "Chart.yaml", CHART / "values.yaml", ROOT / ".yamllint"]
    files += example_files() + compose_yaml_files()
    errors: list[str] = []
    for path in files:
        errors += lint_yaml(path.read_text(encoding="utf-8"), rel(path), config)
    require(not errors, "\n".join(errors))
    return f"{len(files)} files"


# --- schema ----------------------------------------------------------------------------------


def check_schema_is_draft7(schema: dict) -> None:
    require(schema.get("$schema") == "http://json-schema.org/draft-07/schema#",
            f"$schema is {schema.get('$schema')!r}, want draft-07")
    jsonschema.Draft7Validator.check_schema(schema)
    undescribed = [path for path, node in schema_leaves(schema) if not node.get("description")]
    require(not undescribed, "values without a description: " + ", ".join(undescribed))
    return None


def schema_errors(validator: jsonschema.Draft7Validator, values: dict) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(values)]


def check_values_valid(chart: helm.Chart, validator: jsonschema.Draft7Validator,
                       defaults: dict, path: Path) -> str:
    override = load_yaml(path) or {}
    merged = defaults if path == CHART / "values.yaml" else merge(defaults, override)
    errors = schema_errors(validator, merged)
    require(not errors, "jsonschema: " + "; ".join(errors))
    chart.validate_schema(override)  # Helm coalesces with the chart's defaults itself
    return "jsonschema and helm"


BAD_VALUES: dict[str, dict] = {
    "replicas 0": {"gateway": {"replicas": 0}},
    "port as a string": {"skCore": {"port": "8082"}},
    "port above 65535": {"skApp": {"port": 70000}},
    "unknown pullPolicy": {"image": {"pullPolicy": "Sometimes"}},
    "unknown gateway Service type": {"gateway": {"service": {"type": "Ingress"}}},
    "unknown top-level key": {"replicaCount": 3},
    "unknown component key": {"skAdmin": {"autoscaling": {"enabled": True}}},
    "HPA minReplicas 0": {"skApp": {"autoscaling": {"minReplicas": 0}}},
    "HPA without a CPU request": {"skCore": {"autoscaling": {"enabled": True},
                                            "resources": {"requests": {"cpu": None}}}},
    "secret in a ConfigMap": {"skApp": {"config": {"SK_JWT__SECRET": "x" * 40}}},
    "non-SK_ config key": {"gateway": {"config": {"PATH": "/tmp"}}},
    "redis URL without scheme": {"redis": {"url": "redis-master:6379"}},
    "pdb as a word": {"gateway": {"pdb": {"maxUnavailable": "one"}}},
    "replicas as a string": {"orderConsumer": {"replicas": "2"}},
}


def check_bad_values_refused(chart: helm.Chart, validator: jsonschema.Draft7Validator,
                             defaults: dict) -> str:
    accepted = []
    for name, override in BAD_VALUES.items():
        if not schema_errors(validator, merge(defaults, override)):
            accepted.append(f"{name}: accepted by jsonschema")
        try:
            chart.validate_schema(override)
            accepted.append(f"{name}: accepted by helm")
        except helm.HelmValuesError:
            pass
    require(not accepted, "\n".join(accepted))
    return f"{len(BAD_VALUES)} bad documents refused by both"


def resolve_ref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_leaves(schema: dict, node: dict | None = None, prefix: str = "") -> Iterable[tuple[str, dict]]:
    """(dotted path, schema) of every documented value: objects with named properties are
    descended into, anything else (scalars, lists, free-form maps) is a leaf."""
    node = resolve_ref(schema, schema if node is None else node)
    properties = node.get("properties")
    if node is not schema and not properties:
        yield prefix, node
        return
    for key, child in (properties or {}).items():
        yield from schema_leaves(schema, child, f"{prefix}.{key}" if prefix else key)


def generic_path(path: str) -> str:
    """gateway.pdb.enabled -> <component>.pdb.enabled (the README documents components once)."""
    head, _, rest = path.partition(".")
    keys = {key for key, _, _ in COMPONENTS.values()}
    return f"<component>.{rest}" if head in keys and rest else path


def check_readme_documents_values(schema: dict) -> str:
    require(K8S_README.is_file(), "k8s/README.md is missing")
    documented: set[str] = set()
    in_values_table = False
    for line in K8S_README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_values_table = False
        elif re.match(r"\|\s*value\s*\|", line):
            in_values_table = True
        elif in_values_table and (match := re.match(r"\|\s*`([^`]+)`\s*\|", line)):
            documented.add(match[1])
    require(documented, "k8s/README.md has no table whose first column is 'value'")
    wanted: set[str] = set()
    component_only = {generic_path(p) for p, _ in schema_leaves(schema) if generic_path(p) != p}
    for path, _ in schema_leaves(schema):
        wanted.add(generic_path(path) if generic_path(path) in documented else path)
    missing = sorted(p for p in wanted if p not in documented)
    known = wanted | component_only
    stale = sorted(p for p in documented if p not in known)
    require(not missing, "values missing from the README's values table: " + ", ".join(missing))
    require(not stale, "README values table rows that are no value: " + ", ".join(stale))
    return f"{len(wanted)} rows"


# --- render ----------------------------------------------------------------------------------


def render(chart: helm.Chart, release: str, values: dict, namespace: str = "shop") -> list[dict]:
    manifests = chart.render(values, name=release, namespace=namespace, is_install=True)
    objects = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document is not None:
                document["__template__"] = template
                objects.append(document)
    return objects


def helm_template_text(chart: helm.Chart, release: str, values: dict) -> str:
    """The document stream `helm template` would print."""
    manifests = chart.render(values, name=release, namespace="shop", is_install=True)
    parts = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        for document in re.split(r"(?m)^---\s*$", text):
            if document.strip():
                parts.append(f"---\n# Source: {template}\n{document.strip()}\n")
    return "".join(parts)


def check_rendered_yamllint(chart: helm.Chart, release: str, values: dict, config: YamlLintConfig) -> None:
    errors = lint_yaml(helm_template_text(chart, release, values), f"rendered:{release}", config)
    require(not errors, "\n".join(errors))


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o.get("kind") == kind]


def labels(obj: dict) -> dict:
    return obj.get("metadata", {}).get("labels") or {}


def selects(selector: dict, pod_labels: dict) -> bool:
    return bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items())


class RenderFacts:
    """One render, checked against the values it was made from."""

    def __init__(self, release: str, values: dict, objects: list[dict]) -> None:
        self.release = release
        self.values = values
        self.objects = objects

    def named(self, kind: str, name: str) -> dict | None:
        return next((o for o in by_kind(self.objects, kind) if o["metadata"]["name"] == name), None)

    def config_map(self, component: str) -> dict:
        cm = self.named("ConfigMap", f"{self.release}-{component}")
        require(cm, f"no ConfigMap {self.release}-{component}")
        return cm.get("data") or {}

    def service_for_url(self, url: str) -> tuple[dict, int]:
        match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", url)
        require(match, f"{url!r} is not http://<service>:<port>")
        service = self.named("Service", match[1])
        require(service, f"{url} names no Service of the release")
        return service, int(match[2])


def check_labels(facts: RenderFacts) -> str:
    problems = []
    for obj in facts.objects:
        where = f"{obj['kind']}/{obj['metadata'].get('name')}"
        lab = labels(obj)
        if lab.get(INSTANCE) != facts.release:
            problems.append(f"{where}: {INSTANCE}={lab.get(INSTANCE)!r}")
        for key in ("app.kubernetes.io/name", "helm.sh/chart", "app.kubernetes.io/managed-by"):
            if not lab.get(key):
                problems.append(f"{where}: no {key} label")
        if not obj["metadata"].get("name", "").startswith(f"{facts.release}-") \
                and obj["metadata"].get("name") != facts.release:
            problems.append(f"{where}: name lacks the release name")
        if obj["metadata"].get("namespace") != "shop":
            problems.append(f"{where}: namespace {obj['metadata'].get('namespace')!r}")
    require(not problems, "\n".join(problems))
    return f"{len(facts.objects)} objects"


def check_deployments(facts: RenderFacts) -> str:
    v = facts.values
    deployments = {labels(d).get(COMPONENT): d for d in by_kind(facts.objects, "Deployment")}
    require(set(deployments) == set(COMPONENTS), f"Deployments for {sorted(deployments)}")
    secret_names = {s["metadata"]["name"] for s in by_kind(facts.objects, "Secret")}
    if v["secrets"]["existingSecret"]:
        require(not secret_names, "a Secret is rendered although secrets.existingSecret is set")
        secret_names = {v["secrets"]["existingSecret"]}
    hpa_targets = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(facts.objects, "HorizontalPodAutoscaler")}
    tag = v["image"]["tag"] or load_yaml(CHART / "Chart.yaml")["appVersion"]
    for component, deployment in deployments.items():
        key, _, _ = COMPONENTS[component]
        cv = v[key]
        where = f"Deployment {deployment['metadata']['name']}"
        spec = deployment["spec"]
        selector = spec["selector"]["matchLabels"]
        pod = spec["template"]
        require(selector.get(INSTANCE) == facts.release and selector.get(COMPONENT) == component,
                f"{where}: selector {selector} lacks instance/component")
        require(selects(selector, labels(pod)), f"{where}: selector does not match its pods")
        if deployment["metadata"]["name"] in hpa_targets:
            require("replicas" not in spec, f"{where}: replicas set although an HPA scales it")
        else:
            require(spec.get("replicas") == cv["replicas"], f"{where}: replicas {spec.get('replicas')}")
        annotations = pod["metadata"].get("annotations") or {}
        require(re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/config", ""))),
                f"{where}: no checksum/config annotation")
        pod_spec = pod["spec"]
        require(pod_spec.get("securityContext", {}).get("runAsNonRoot") is True, f"{where}: pod not runAsNonRoot")
        require(pod_spec.get("enableServiceLinks") is False, f"{where}: enableServiceLinks is not false")
        (container,) = pod_spec["containers"]
        require(container["command"] == [component], f"{where}: command {container.get('command')}")
        require(container["image"] == f"{v['image']['repository']}:{tag}", f"{where}: image {container['image']}")
        require(container["imagePullPolicy"] == v["image"]["pullPolicy"], f"{where}: imagePullPolicy")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        require(ports.get("http") == cv["port"], f"{where}: container port {ports}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
            got = container.get(probe, {}).get("httpGet", {})
            require(got.get("path") == path and got.get("port") in ("http", cv["port"]),
                    f"{where}: {probe} is {got or 'missing'}, want GET {path} on the http port")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            require({"cpu", "memory"} <= set(resources.get(part, {})), f"{where}: resources.{part} {resources.get(part)}")
        sc = container.get("securityContext", {})
        require(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 10001
                and sc.get("readOnlyRootFilesystem") is True
                and sc.get("allowPrivilegeEscalation") is False
                and sc.get("capabilities", {}).get("drop") == ["ALL"],
                f"{where}: container securityContext {sc}")
        (config_ref,) = container["envFrom"]
        require(config_ref["configMapRef"]["name"] == f"{facts.release}-{component}", f"{where}: envFrom {config_ref}")
        facts.config_map(component)
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            require(ref and ref["name"] in secret_names and ref["key"] == env["name"],
                    f"{where}: env {env['name']} does not come from the release's Secret")
            require(env["name"] in SECRET_ENV, f"{where}: env {env['name']} is not a secret key")
    return ", ".join(sorted(deployments))


def check_config_maps(facts: RenderFacts) -> str:
    v = facts.values
    for component, (key, _, _) in COMPONENTS.items():
        data = facts.config_map(component)
        require(data.get("SK_HTTP__LISTEN") == f"0.0.0.0:{v[key]['port']}", f"{component}: SK_HTTP__LISTEN {data.get('SK_HTTP__LISTEN')}")
        require(data.get("SK_LOG__FORMAT") == "json", f"{component}: SK_LOG__FORMAT {data.get('SK_LOG__FORMAT')}")
        leaked = SECRET_ENV & set(data)
        require(not leaked, f"{component}: secret keys in the ConfigMap: {sorted(leaked)}")
        require(all(isinstance(value, str) for value in data.values()), f"{component}: non-string ConfigMap values")
        if v["otel"]["endpoint"]:
            require(data.get("OTEL_EXPORTER_OTLP_ENDPOINT") == v["otel"]["endpoint"], f"{component}: no OTLP endpoint")
            require(float(data.get("SK_LOG__TRACE_SAMPLE_RATIO", "nan")) == v["otel"]["sampleRatio"],
                    f"{component}: SK_LOG__TRACE_SAMPLE_RATIO {data.get('SK_LOG__TRACE_SAMPLE_RATIO')!r}")
        else:
            require("OTEL_EXPORTER_OTLP_ENDPOINT" not in data, f"{component}: OTLP endpoint although none is set")
        for name, value in (v[key].get("config") or {}).items():
            want = str(value).lower() if isinstance(value, bool) else str(value)
            require(data.get(name) == want, f"{component}: config {name}={value!r} rendered as {data.get(name)!r}")
    gateway = facts.config_map("gateway")
    app_service, app_port = facts.service_for_url(gateway.get("SK_UPSTREAMS__APP", ""))
    require(app_service["metadata"]["name"] == f"{facts.release}-sk-app-headless"
            and app_service["spec"].get("clusterIP") == "None",
            f"SK_UPSTREAMS__APP {gateway.get('SK_UPSTREAMS__APP')} is not the headless sk-app Service")
    require(app_port == v["skApp"]["port"], f"SK_UPSTREAMS__APP port {app_port}")
    admin_service, _ = facts.service_for_url(gateway.get("SK_UPSTREAMS__ADMIN", ""))
    require(labels(admin_service).get(COMPONENT) == "sk-admin", "SK_UPSTREAMS__ADMIN is not the sk-admin Service")
    app = facts.config_map("sk-app")
    core_service, core_port = facts.service_for_url(app.get("SK_CORE__URL", ""))
    require(labels(core_service).get(COMPONENT) == "sk-core" and core_port == v["skCore"]["port"],
            f"SK_CORE__URL {app.get('SK_CORE__URL')} is not the sk-core Service")
    trusted = app.get("SK_EDGE__TRUSTED_PROXIES", "").split(",")
    require(set(v["podCIDRs"]) <= set(trusted), f"sk-app trusts {trusted}, not the pod CIDRs {v['podCIDRs']}")
    return f"gateway -> {app_service['metadata']['name']}, sk-app -> {core_service['metadata']['name']}"


def check_services(facts: RenderFacts) -> str:
    pods = {labels(d).get(COMPONENT): labels(d["spec"]["template"]) for d in by_kind(facts.objects, "Deployment")}
    services = by_kind(facts.objects, "Service")
    seen = {}
    for service in services:
        name = service["metadata"]["name"]
        selector = service["spec"].get("selector") or {}
        component = selector.get(COMPONENT)
        require(selector.get(INSTANCE) == facts.release and component in pods,
                f"Service {name}: selector {selector} lacks instance/component")
        require(selects(selector, pods[component]), f"Service {name} selects no pod of {component}")
        require(all(p.get("targetPort") == "http" and p.get("name") == "http" for p in service["spec"]["ports"]),
                f"Service {name}: ports {service['spec']['ports']}")
        seen[component] = service
    require(set(seen) == set(COMPONENTS), f"Services for {sorted(seen)}")
    require(seen["sk-app"]["spec"].get("clusterIP") == "None"
            and seen["sk-app"]["metadata"]["name"] == f"{facts.release}-sk-app-headless",
            "sk-app's Service is not the headless <release>-sk-app-headless")
    for component in ("sk-core", "sk-admin", "order-consumer"):
        require(seen[component]["spec"].get("type") == "ClusterIP", f"{component} Service type")
    require(seen["gateway"]["spec"].get("type") == facts.values["gateway"]["service"]["type"], "gateway Service type")
    return f"{len(services)} Services, sk-app headless"


def check_pdbs_and_hpas(facts: RenderFacts) -> str:
    pods = {labels(d).get(COMPONENT): labels(d["spec"]["template"]) for d in by_kind(facts.objects, "Deployment")}
    pdbs = by_kind(facts.objects, "PodDisruptionBudget")
    covered = set()
    for pdb in pdbs:
        spec = pdb["spec"]
        component = labels(pdb).get(COMPONENT)
        require(selects(spec["selector"]["matchLabels"], pods.get(component, {}))
                and spec["selector"]["matchLabels"].get(INSTANCE) == facts.release,
                f"PDB {pdb['metadata']['name']}: selector")
        require(("minAvailable" in spec) != ("maxUnavailable" in spec), f"PDB {pdb['metadata']['name']}: {spec}")
        covered.add(component)
    want_pdbs = {c for c, (key, _, _) in COMPONENTS.items() if facts.values[key]["pdb"]["enabled"]}
    require(covered == want_pdbs, f"PDBs for {sorted(covered)}, want {sorted(want_pdbs)}")
    deployments = {d["metadata"]["name"] for d in by_kind(facts.objects, "Deployment")}
    hpas = by_kind(facts.objects, "HorizontalPodAutoscaler")
    scaled = set()
    for hpa in hpas:
        require(hpa["apiVersion"] == "autoscaling/v2", f"HPA {hpa['metadata']['name']}: {hpa['apiVersion']}")
        target = hpa["spec"]["scaleTargetRef"]
        require(target["kind"] == "Deployment" and target["name"] in deployments, f"HPA target {target}")
        metrics = hpa["spec"]["metrics"]
        require(any(m["resource"]["name"] == "cpu" for m in metrics), f"HPA {hpa['metadata']['name']}: no CPU target")
        scaled.add(labels(hpa).get(COMPONENT))
    want_hpas = {c for c, (key, _, hpa) in COMPONENTS.items() if hpa and facts.values[key]["autoscaling"]["enabled"]}
    require(scaled == want_hpas, f"HPAs for {sorted(scaled)}, want {sorted(want_hpas)}")
    return f"{len(pdbs)} PDBs, {len(hpas)} HPAs"


def check_optional_objects(facts: RenderFacts) -> str:
    v = facts.values
    monitors = by_kind(facts.objects, "ServiceMonitor")
    services = by_kind(facts.objects, "Service")
    if v["metrics"]["serviceMonitor"]["enabled"]:
        scraped = set()
        for monitor in monitors:
            matched = [s for s in services if selects(monitor["spec"]["selector"]["matchLabels"], labels(s))]
            require(len(matched) == 1, f"ServiceMonitor {monitor['metadata']['name']} selects {len(matched)} Services")
            require([e.get("path") for e in monitor["spec"]["endpoints"]] == ["/metrics"]
                    and monitor["spec"]["endpoints"][0].get("port") == "http",
                    f"ServiceMonitor {monitor['metadata']['name']}: endpoints")
            scraped.add(labels(matched[0]).get(COMPONENT))
        require(scraped == set(COMPONENTS), f"ServiceMonitors scrape {sorted(scraped)}")
    else:
        require(not monitors, "ServiceMonitors although metrics.serviceMonitor.enabled is false")
    ingresses = by_kind(facts.objects, "Ingress")
    if v["ingress"]["enabled"]:
        (ingress,) = ingresses
        gateway_service = f"{facts.release}-gateway"
        for rule in ingress["spec"]["rules"]:
            paths = rule["http"]["paths"]
            require(sorted(p["path"] for p in paths) == ["/admin", "/api"], f"Ingress paths {paths}")
            require(all(p["backend"]["service"]["name"] == gateway_service for p in paths), "Ingress backend")
        require(facts.named("Service", gateway_service), "the Ingress's Service is missing")
    else:
        require(not ingresses, "an Ingress although ingress.enabled is false")
    secrets = by_kind(facts.objects, "Secret")
    if not v["secrets"]["existingSecret"]:
        (secret,) = secrets
        want = SECRET_ENV - ({"SK_JWT__PREVIOUS_KEYS"} if not v["secrets"]["jwtPreviousKeys"] else set())
        require(set(secret.get("data", {})) == want, f"Secret keys {sorted(secret.get('data', {}))}")
    return f"{len(monitors)} ServiceMonitors, {len(ingresses)} Ingress, {len(secrets)} Secret"


def check_releases_apart(a: RenderFacts, b: RenderFacts) -> str:
    names_a = {(o["kind"], o["metadata"]["name"]) for o in a.objects}
    names_b = {(o["kind"], o["metadata"]["name"]) for o in b.objects}
    shared = names_a & names_b
    require(not shared, f"both releases render {sorted(shared)}")
    pods_b = [labels(d["spec"]["template"]) for d in by_kind(b.objects, "Deployment")]
    for obj in a.objects:
        selector = (obj.get("spec") or {}).get("selector")
        if isinstance(selector, dict):
            selector = selector.get("matchLabels", selector)
            crossing = [p for p in pods_b if selects(selector, p)]
            require(not crossing, f"{obj['kind']} {obj['metadata']['name']} of {a.release} selects pods of {b.release}")
    return f"{len(names_a)} + {len(names_b)} distinct objects"


def check_render_refusals(chart: helm.Chart) -> str:
    cases = {
        "a release name over 47 characters": ("r" * 48, {}),
        "maxReplicas below minReplicas": ("shop", {"gateway": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}),
    }
    rendered = []
    for name, (release, values) in cases.items():
        try:
            chart.render(values, name=release, namespace="shop")
            rendered.append(name)
        except (helm.HelmRenderError, helm.HelmValuesError):
            pass
    require(not rendered, "rendered although it must fail: " + ", ".join(rendered))
    return f"{len(cases)} refused"


def check_helm_lint(values: dict) -> None:
    report = helm.lint(str(CHART), values, strict=True, namespace="shop")
    findings = [f"[{m.get('severity')}] {m.get('path')}: {m.get('error')}" for m in report.get("messages", [])
                if m.get("severity", 0) >= 2]
    findings += report.get("errors") or []
    require(not findings, "\n".join(findings))


# --- drift: the release build command --------------------------------------------------------


def shell_commands(text: str) -> list[list[str]]:
    """Simple commands of a shell-ish text (continuations joined; split on && || ; |)."""
    joined = re.sub(r"\\\n", " ", text)
    commands = []
    for line in joined.splitlines():
        line = re.sub(r"^\s*(RUN|CMD|ENTRYPOINT)\b", "", line.split(" #", 1)[0])
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                tokens = shlex.split(part, comments=True)
            except ValueError:
                tokens = part.split()
            if tokens:
                commands.append(tokens)
    return commands


def cargo_builds(text: str) -> list[list[str]]:
    builds = []
    for tokens in shell_commands(text):
        for i in range(len(tokens) - 1):
            if tokens[i] == "cargo" and tokens[i + 1] == "build":
                builds.append(tokens[i:])
    return builds


def check_build_command() -> str:
    canonical = [c for c in cargo_builds((ROOT / "scripts" / "demo").read_text()) if "--release" in c]
    require(len(canonical) == 1, f"scripts/demo has {len(canonical)} release builds")
    want = canonical[0]
    require(DOCKERFILE.is_file(), f"{rel(DOCKERFILE)} is missing")
    builds = cargo_builds(DOCKERFILE.read_text())
    require(want in builds, f"compose/Dockerfile never runs `{' '.join(want)}` (it runs {[' '.join(b) for b in builds]})")
    others = [" ".join(b) for b in builds if b != want]
    require(not others, f"compose/Dockerfile builds differently too: {others}")
    readme_builds = cargo_builds((ROOT / "README.md").read_text())
    require(want in readme_builds, f"README.md never shows `{' '.join(want)}`")
    readme = [" ".join(b) for b in readme_builds if b != want and "--release" in b]
    require(not readme, f"README.md shows other release builds: {readme}")
    return " ".join(want)


# --- settings: every SK_ variable set in compose and the chart is one the binary reads -------


def documented_settings() -> dict[str, set[str]]:
    """Each service's SK_ variables, from README's configuration tables (which the services'
    own tests keep equal to their defaults.toml)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    require("<!-- config:begin -->" in text and "<!-- config:end -->" in text,
            "README.md has no configuration tables")
    tables = text.split("<!-- config:begin -->", 1)[1].split("<!-- config:end -->", 1)[0]
    settings: dict[str, set[str]] = {}
    current = None
    for line in tables.splitlines():
        if heading := re.match(r"#### (\S+) \(", line):
            current = heading[1]
            settings[current] = set()
        elif (row := re.match(r"\| `(SK_[A-Z0-9_]+)` \|", line)) and current:
            settings[current].add(row[1])
    require(set(settings) == set(COMPONENTS), f"README configuration tables for {sorted(settings)}")
    return settings


def unknown_settings(binary: str, names, settings: dict[str, set[str]]) -> list[str]:
    return sorted(n for n in names if n.startswith("SK_") and n not in settings[binary])


def service_environments(docker_compose: str) -> list[tuple[str, str, dict[str, str]]]:
    """(compose service, binary, environment) of every compose service that runs one of the
    five service binaries, from the resolved file (anchors merged, .env interpolated)."""
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    require(result.returncode == 0, f"docker-compose config exited {result.returncode}:\n{result.stderr}")
    services = (yaml.safe_load(result.stdout) or {}).get("services") or {}
    found = []
    for name, service in sorted(services.items()):
        command = service.get("command") or []
        binary = (command.split() if isinstance(command, str) else command or [""])[0]
        if binary not in COMPONENTS:
            continue
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        found.append((name, binary, {k: str(v) for k, v in env.items() if v is not None}))
    require(len(found) >= len(COMPONENTS), f"only {len(found)} compose services run a service binary")
    return found


def check_compose_settings(docker_compose: str) -> str:
    settings = documented_settings()
    services = service_environments(docker_compose)
    problems = [f"{name} ({binary}) sets what it does not read: {', '.join(unknown)}"
                for name, binary, env in services
                if (unknown := unknown_settings(binary, env, settings))]
    require(not problems, "\n".join(problems))
    return f"{len(services)} services"


def check_chart_settings(facts: RenderFacts) -> str:
    settings = documented_settings()
    problems = []
    for deployment in by_kind(facts.objects, "Deployment"):
        component = labels(deployment).get(COMPONENT)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        names = set(facts.config_map(component)) | {e["name"] for e in container.get("env", [])}
        if unknown := unknown_settings(component, names, settings):
            problems.append(f"{component} is given what it does not read: {', '.join(unknown)}")
    require(not problems, "\n".join(problems))
    return f"{len(by_kind(facts.objects, 'Deployment'))} Deployments"


def accepted_by(binary: str, env: dict[str, str]) -> str | None:
    """None when `binary --check-config` accepts `env` as its whole SK_ environment, else why."""
    path = ROOT / "target" / "debug" / binary
    require(path.is_file(), f"{rel(path)} is missing (scripts/check-deploy builds it)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SK_", "OTEL_", "RUST_LOG"))}
    result = subprocess.run([str(path), "--check-config"], env={**base, **env}, cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    return None if result.returncode == 0 else (result.stderr or result.stdout).strip()


def check_compose_config_accepted(docker_compose: str) -> str:
    services = service_environments(docker_compose)
    problems = [f"{name}: {why}" for name, binary, env in services if (why := accepted_by(binary, env))]
    require(not problems, "\n".join(problems))
    return f"{len(services)} services"


def check_chart_config_accepted(facts: RenderFacts) -> str:
    secrets: dict[str, dict[str, str]] = {}
    for secret in by_kind(facts.objects, "Secret"):
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        secrets[secret["metadata"]["name"]] = {**data, **(secret.get("stringData") or {})}
    problems = []
    for deployment in by_kind(facts.objects, "Deployment"):
        component = labels(deployment).get(COMPONENT)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = dict(facts.config_map(component))
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = str(entry["value"])
            elif ref := entry.get("valueFrom", {}).get("secretKeyRef"):
                value = secrets.get(ref["name"], {}).get(ref["key"])
                require(value is not None or ref.get("optional"),
                        f"{component}: {entry['name']} names a key the Secret lacks")
                if value is not None:
                    env[entry["name"]] = value
        if why := accepted_by(component, {k: str(v) for k, v in env.items()}):
            problems.append(f"{component}: {why}")
    require(not problems, "\n".join(problems))
    return f"{len(by_kind(facts.objects, 'Deployment'))} Deployments"


# --- metrics: dashboards vs METRICS.md, Prometheus vs compose --------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
                "and", "or", "unless", "inf", "nan", "atan2"}
# Series Prometheus makes itself for every target; no service exports them.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                     "scrape_samples_post_metric_relabeling", "scrape_series_added"}
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")


def promql_metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]", " ", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if not match[2] and match[1].lower() not in PROMQL_WORDS:
            names.add(match[1])
    return names


def dashboard_queries(node: Any) -> Iterable[str]:
    """Every PromQL query of a dashboard: panel targets' expr and query variables."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "templating" and isinstance(value, dict):
                for variable in value.get("list", []):
                    query = variable.get("query")
                    query = query.get("query") if isinstance(query, dict) else query
                    if variable.get("type") == "query" and isinstance(query, str):
                        match = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query)
                        if match:
                            yield match[1]
                        elif not query.strip().startswith("label_values("):
                            yield query
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_queries(item)


def catalogue_rows() -> list[dict[str, str]]:
    """The rows of METRICS.md's table, each as {lowercased header: cell}."""
    require(METRICS_MD.is_file(), "METRICS.md is missing")
    rows: list[dict[str, str]] = []
    headers = None
    for line in METRICS_MD.read_text(encoding="utf-8").splitlines():
        if not line.strip().startswith("|"):
            headers = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if headers is None:
            headers = [c.lower().strip("`* ") for c in cells]
        elif not all(set(c) <= set("-: ") for c in cells):
            rows.append(dict(zip(headers, cells)))
    require(any("metric" in row for row in rows), "METRICS.md has no table with a metric column")
    return rows


def catalogue_names() -> set[str]:
    return {name for row in catalogue_rows()
            for name in re.findall(r"`([A-Za-z_:][\w:]*)`", row.get("metric", ""))}


def catalogue_labels() -> dict[str, set[str]]:
    """Each catalogued metric's label names (the `labels` column)."""
    return {name: set(re.findall(r"`(\w+)`", row.get("labels", "")))
            for row in catalogue_rows()
            for name in re.findall(r"`([A-Za-z_:][\w:]*)`", row.get("metric", ""))}


# Labels Prometheus adds to every series (compose/prometheus/prometheus.yml adds `service`),
# and the histogram bucket bound.
TARGET_LABELS = {"job", "instance", "service"}


def expression_labels(expr: str) -> tuple[list[tuple[str, str]], set[str]]:
    """(metric, label) pairs of the selectors, and the labels of by/without/on/ignoring."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\$\{[^}]*\}|\$\w+", " ", text)
    selected = [(metric, label) for metric, matchers in re.findall(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}", text)
                for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers)]
    grouped = {label for clause in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", text)
               for label in re.findall(r"\w+", clause)}
    return selected, grouped


def check_dashboard_labels() -> str:
    labels_of = catalogue_labels()
    require(labels_of, "METRICS.md has no table with metric and labels columns")
    problems, count = [], 0
    for path in sorted(DASHBOARDS.glob("*.json")):
        for expr in dashboard_queries(json.loads(path.read_text(encoding="utf-8"))):
            selected, grouped = expression_labels(expr)
            metrics = {HISTOGRAM_SUFFIX.sub("", m) for m in promql_metric_names(expr)}
            known = TARGET_LABELS | {"le"} | set().union(*(labels_of.get(m, set()) for m in metrics))
            for metric, label in selected:
                count += 1
                base = HISTOGRAM_SUFFIX.sub("", metric)
                allowed = TARGET_LABELS | labels_of.get(base, set()) | ({"le"} if metric.endswith("_bucket") else set())
                if base in labels_of and label not in allowed:
                    problems.append(f"{path.name}: {metric} has no label {label!r} (in {expr.strip()[:100]!r})")
            for label in grouped - known:
                problems.append(f"{path.name}: no metric of {expr.strip()[:100]!r} has the label {label!r}")
            count += len(grouped)
    require(not problems, "\n".join(sorted(set(problems))))
    return f"{count} label uses"


def check_dashboards_use_catalogue() -> str:
    catalogue = catalogue_names()
    dashboards = sorted(DASHBOARDS.glob("*.json")) if DASHBOARDS.is_dir() else []
    require(dashboards, f"no dashboard in {rel(DASHBOARDS)}")
    unknown, used = [], set()
    for path in dashboards:
        for expr in dashboard_queries(json.loads(path.read_text(encoding="utf-8"))):
            for name in promql_metric_names(expr):
                used.add(name)
                base = HISTOGRAM_SUFFIX.sub("", name)
                if name not in catalogue and base not in catalogue and name not in PROMETHEUS_SERIES:
                    unknown.append(f"{path.name}: {name} (in {expr.strip()[:100]!r})")
    require(used, "the dashboards query no metric")
    require(not unknown, "metrics missing from METRICS.md:\n" + "\n".join(sorted(set(unknown))))
    return f"{len(used)} metrics in {len(dashboards)} dashboard(s), {len(catalogue)} in the catalogue"


def compose_services() -> dict[str, dict]:
    require(COMPOSE_FILE.is_file(), f"{rel(COMPOSE_FILE)} is missing")
    return (load_yaml(COMPOSE_FILE) or {}).get("services") or {}


def service_ports(service: dict) -> set[int]:
    """Ports a compose service listens on, where the file says so."""
    ports: set[int] = set()
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment if "=" in item)
    listen = str(environment.get("SK_HTTP__LISTEN", ""))
    if re.search(r":(\d+)$", listen):
        ports.add(int(re.search(r":(\d+)$", listen)[1]))
    for entry in service.get("expose") or []:
        ports.add(int(str(entry).split("/")[0]))
    for entry in service.get("ports") or []:
        target = entry.get("target") if isinstance(entry, dict) else str(entry).split("/")[0].split(":")[-1]
        if str(target).isdigit():
            ports.add(int(target))
    return ports


def service_binary(name: str, service: dict) -> str | None:
    for key in ("entrypoint", "command"):
        value = service.get(key)
        tokens = shlex.split(value) if isinstance(value, str) else [str(t) for t in value or []]
        if tokens and Path(tokens[0]).name in COMPONENTS:
            return Path(tokens[0]).name
    return name if name in COMPONENTS else None


def prometheus_configs() -> list[Path]:
    found = []
    for path in compose_yaml_files():
        try:
            document = load_yaml(path)
        except yaml.YAMLError:
            continue
        if isinstance(document, dict) and "scrape_configs" in document:
            found.append(path)
    return found


def compose_names(services: dict[str, dict]) -> dict[str, set[str]]:
    """Every name a compose service answers to on its networks -> the services behind it."""
    names: dict[str, set[str]] = {}
    for name, service in services.items():
        aliases = [name, service.get("hostname"), service.get("container_name")]
        networks = service.get("networks")
        if isinstance(networks, dict):
            for network in networks.values():
                aliases += (network or {}).get("aliases") or []
        for alias in filter(None, aliases):
            names.setdefault(str(alias), set()).add(name)
    return names


def check_scrape_targets() -> str:
    services = compose_services()
    names = compose_names(services)
    prometheus_services = {n for n, s in services.items() if "prometheus" in str(s.get("image", ""))}
    configs = prometheus_configs()
    require(configs, "no Prometheus config (a YAML file with scrape_configs) under compose/")
    problems: list[str] = []
    scraped: set[str] = set()
    jobs = 0
    for path in configs:
        for job in load_yaml(path).get("scrape_configs") or []:
            jobs += 1
            label = f"{rel(path)} job {job.get('job_name')!r}"
            targets: list[tuple[str, int | None, bool]] = []  # host, port, every address?
            for static in job.get("static_configs") or []:
                for target in static.get("targets") or []:
                    host, _, port = str(target).rpartition(":")
                    targets.append((host or str(target), int(port) if port.isdigit() else None, False))
            for dns in job.get("dns_sd_configs") or []:
                targets += [(n, dns.get("port"), True) for n in dns.get("names") or []]
            if not targets:
                problems.append(f"{label}: no static_configs or dns_sd_configs target")
            for host, port, every_address in targets:
                if host in ("localhost", "127.0.0.1") and prometheus_services:
                    behind = prometheus_services
                else:
                    behind = names.get(host, set())
                if not behind:
                    problems.append(f"{label}: target {host}:{port} is no compose service")
                    continue
                if len(behind) > 1 and not every_address:
                    problems.append(f"{label}: static target {host} is shared by {sorted(behind)}; "
                                    "each scrape would reach one of them (name each, or use dns_sd_configs)")
                scraped |= behind
                for service in behind:
                    listens = service_ports(services[service])
                    if port is not None and listens and port not in listens:
                        problems.append(f"{label}: {host}:{port}, but {service} listens on {sorted(listens)}")
    unscraped = sorted(n for n, s in services.items() if service_binary(n, s) and n not in scraped)
    if unscraped:
        problems.append(f"flash-sale services nobody scrapes: {unscraped}")
    require(not problems, "\n".join(problems))
    return f"{jobs} jobs over {len(scraped)} compose services"


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docker-compose", default="docker-compose", help="docker-compose executable")
    args = parser.parse_args()
    run = Runner()
    config = YamlLintConfig(file=str(ROOT / ".yamllint"))

    run.section("compose")
    run.check("docker-compose config -q compose/docker-compose.yml", lambda: check_compose_config(args.docker_compose))
    run.check("every SK_ variable in compose is a setting of the service it is given to",
              lambda: check_compose_settings(args.docker_compose))
    run.check("each compose service accepts its settings (--check-config)",
              lambda: check_compose_config_accepted(args.docker_compose))

    run.section("yamllint")
    run.check("chart values, Chart.yaml, examples, compose and Prometheus YAML", lambda: check_yamllint_files(config))

    run.section("values schema")
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    defaults = load_yaml(CHART / "values.yaml")
    chart = helm.Chart.load(str(CHART))
    run.check("values.schema.json is a draft-07 schema, every value described", lambda: check_schema_is_draft7(schema))
    for path in [CHART / "values.yaml", *example_files()]:
        run.check(f"{rel(path)} satisfies the schema",
                  lambda path=path: check_values_valid(chart, validator, defaults, path))
    run.check("bad values are refused", lambda: check_bad_values_refused(chart, validator, defaults))
    run.check("k8s/README.md's values table documents every value", lambda: check_readme_documents_values(schema))

    run.section("render (Helm SDK)")
    production = merge(defaults, load_yaml(EXAMPLES / "production.yaml"))
    everything = merge(production, EVERYTHING)
    renders = [("flash-sale", defaults, "defaults"), ("shop-a", production, "production"),
               ("shop-b", production, "production"), ("full", everything, "every option")]
    facts: dict[str, RenderFacts] = {}
    for release, values, label in renders:
        title = f"{label} as release {release}"

        def do_render(release: str = release, values: dict = values) -> str:
            facts[release] = RenderFacts(release, values, render(chart, release, values))
            return f"{len(facts[release].objects)} objects"

        if not run.check(f"{title}: renders, parses as YAML", do_render):
            continue
        f = facts[release]
        run.check(f"{title}: yamllint of the rendered manifests",
                  lambda r=release, v=values: check_rendered_yamllint(chart, r, v, config))
        run.check(f"{title}: release name in every name and instance label", lambda f=f: check_labels(f))
        run.check(f"{title}: Deployments (command, image, probes, resources, securityContext, env)",
                  lambda f=f: check_deployments(f))
        run.check(f"{title}: ConfigMaps (listen, JSON logs, upstream URLs, trusted proxies, no secrets)",
                  lambda f=f: check_config_maps(f))
        run.check(f"{title}: every SK_ variable is a setting of its service",
                  lambda f=f: check_chart_settings(f))
        if f.named("Secret", release):
            run.check(f"{title}: each service accepts its settings (--check-config)",
                      lambda f=f: check_chart_config_accepted(f))
        run.check(f"{title}: Services (headless sk-app, selectors)", lambda f=f: check_services(f))
        run.check(f"{title}: PodDisruptionBudgets and HPAs", lambda f=f: check_pdbs_and_hpas(f))
        run.check(f"{title}: ServiceMonitors, Ingress, Secret", lambda f=f: check_optional_objects(f))
    if "shop-a" in facts and "shop-b" in facts:
        run.check("releases shop-a and shop-b share no name and no selector",
                  lambda: check_releases_apart(facts["shop-a"], facts["shop-b"]))
    run.check("bad renders fail", lambda: check_render_refusals(chart))
    run.check("helm lint --strict (defaults)", lambda: check_helm_lint({}))
    run.check("helm lint --strict (production example)",
              lambda: check_helm_lint(load_yaml(EXAMPLES / "production.yaml")))

    run.section("drift")
    run.check("compose/Dockerfile builds with scripts/demo's release build command", check_build_command)

    run.section("metrics")
    run.check("dashboard queries use only METRICS.md's metrics", check_dashboards_use_catalogue)
    run.check("dashboard queries use only the catalogue's labels", check_dashboard_labels)
    run.check("every Prometheus scrape target is a compose service", check_scrape_targets)

    chart.close()
    if run.failed:
        print(f"deploy checks: {run.passed} passed, {len(run.failed)} failed")
        return 1
    print(f"deploy checks: {run.passed} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
