"""Type-confused inputs never make a check raise.

A real manifest, Dockerfile or Terraform file with a value of the wrong type somewhere (containers
as a string, env as a mapping, securityContext as a list, ports as strings, labels with integer
keys...) is what users feed a scanner every day. The engine would report a raising check as
"check ... failed on ..." in ``report.errors``, losing that check's verdict on the resource; these
tests mutate the real check fixtures (fixed seed, a few hundred cases) and require that never happens,
and that every output format still renders.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cnsec.assess.config import Config
from cnsec.assess.engine import assess_inventory
from cnsec.assess.inventory import Inventory, add_text
from cnsec.assess.loaders.terraform import parse_terraform
from cnsec.model.report import Report
from cnsec.report.output import render

FIXTURES = Path(__file__).resolve().parents[1] / "assess" / "checks" / "fixtures"
SEED = 20261129
CASES = 320
BATCH = 40

#: Values of every JSON/YAML type, each one wrong for most fields it lands in.
WRONG: tuple[Any, ...] = (
    "str", "", "0", "true", 0, -1, 2**70, 1.5, True, False, None, [], {}, ["a", 1, None],
    {"k": "v"}, [{"a": None}], [[1]], {"0": [None]}, {"name": 5}, [{"name": ["x"]}],
)
#: Odd mapping keys (YAML allows them; Kubernetes does not, so checks meet them rarely).
ODD_KEYS: tuple[Any, ...] = (1, True, None, 2.5)


def _yaml_docs() -> list[Any]:
    docs = []
    for path in sorted(FIXTURES.rglob("*.yaml")):
        if path.name == ".cnsec.yaml":
            continue
        try:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
        except yaml.YAMLError:
            continue
    return docs


def _slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key-or-index) pair in the tree, root excluded."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                yield cur, k
                stack.append(v)
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                yield cur, i
                stack.append(v)


def _maps(node: Any) -> list[dict[Any, Any]]:
    out = [node] if isinstance(node, dict) else []
    out += [c[k] for c, k in _slots(node) if isinstance(c[k], dict)]
    return out


#: Fields the checks read: hitting them (not just any leaf) is what finds the bugs.
HOT = frozenset({
    "metadata", "labels", "annotations", "spec", "template", "jobTemplate", "containers",
    "initContainers", "ephemeralContainers", "env", "envFrom", "valueFrom", "secretKeyRef", "name",
    "value", "image", "imagePullPolicy", "command", "args", "ports", "containerPort", "hostPort",
    "securityContext", "capabilities", "add", "drop", "privileged", "runAsUser", "runAsNonRoot",
    "allowPrivilegeEscalation", "readOnlyRootFilesystem", "seccompProfile", "appArmorProfile", "type",
    "resources", "limits", "requests", "livenessProbe", "readinessProbe", "volumes", "volumeMounts",
    "hostPath", "path", "hostNetwork", "hostPID", "hostIPC", "serviceAccountName",
    "automountServiceAccountToken", "rules", "subjects", "roleRef", "verbs", "apiGroups",
    "data", "stringData", "selector", "matchLabels", "podSelector", "ingress", "egress", "from", "tls",
    "http", "paths", "backend", "service", "sysctls", "items", "kind", "namespace", "ownerReferences",
    "nodePort", "externalIPs", "policyTypes", "hosts", "secretName", "binaryData", "webhooks",
})


def _mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    slots = [s for s in _slots(doc) if s[1] not in ("apiVersion", "kind") or s[0] is not doc]
    hot = [s for s in slots if s[1] in HOT]
    for _ in range(rng.randint(1, 4)):
        pool = hot if hot and rng.random() < 0.7 else slots
        if not pool:
            break
        container, key = rng.choice(pool)
        try:
            container[key] = copy.deepcopy(rng.choice(WRONG))
        except (IndexError, KeyError, TypeError):
            continue  # the slot went away with an earlier mutation
    if rng.random() < 0.25:
        maps = _maps(doc)
        rng.choice(maps)[rng.choice(ODD_KEYS)] = copy.deepcopy(rng.choice(WRONG))
    return doc


def _k8s_cases() -> list[str]:
    docs = _yaml_docs()
    rng = random.Random(SEED)
    return [yaml.safe_dump(_mutate(rng.choice(docs), rng), sort_keys=False) for _ in range(CASES)]


def _check_failures(report: Report) -> list[str]:
    return [str(p) for p in report.errors if "failed on" in p.message]


def _assess_texts(texts: list[tuple[str, str, str]]) -> Report:
    inv = Inventory(root="fuzz")
    for name, kind, text in texts:
        add_text(inv, text, name, kind)
    return assess_inventory(inv, Config())


K8S_CASES = _k8s_cases() if FIXTURES.is_dir() else []


@pytest.mark.parametrize("start", range(0, CASES, BATCH))
def test_no_check_raises_on_type_confused_kubernetes_manifests(start: int) -> None:
    batch = [(f"case-{i}.yaml", "k8s", K8S_CASES[i]) for i in range(start, min(start + BATCH, CASES))]
    report = _assess_texts(batch)
    assert report.stats["resources"] > 0
    assert _check_failures(report) == []


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "table"])
def test_every_format_renders_a_report_on_type_confused_manifests(fmt: str) -> None:
    report = _assess_texts([(f"case-{i}.yaml", "k8s", K8S_CASES[i]) for i in range(0, CASES, 4)])
    assert render(report, fmt).strip()


def _tf_resources() -> list[Any]:
    out = []
    for path in sorted(FIXTURES.rglob("*.tf")):
        out.extend(parse_terraform(path.read_text(), str(path)).resources)
    return out


def test_no_check_raises_on_type_confused_terraform_attributes() -> None:
    rng = random.Random(SEED)
    base = _tf_resources()
    inv = Inventory(root="fuzz")
    for i in range(CASES):
        res = copy.deepcopy(rng.choice(base))
        res.attrs = _mutate(res.attrs, rng) if res.attrs else {"x": rng.choice(WRONG)}
        res.file = f"case-{i}.tf"
        res.key = f"{res.address}#{i}"
        inv.terraform.append(res)
    inv.files_read = CASES
    report = assess_inventory(inv, Config())
    assert _check_failures(report) == []


DOCKER_ODDITIES = (
    "USER", "USER 0:0", "USER :", "EXPOSE", "EXPOSE ssh/tcp 22-", "CMD [1, {\"a\": 2}]", "CMD []",
    "ENTRYPOINT [\"sh\", \"-c\"", "HEALTHCHECK", "HEALTHCHECK NONE", "RUN", "RUN [\"apt-get\", 5]",
    "COPY", "ADD", "ADD --chown= http://x/y.tgz", "ENV", "ENV A", "ENV =x", "ARG", "LABEL", "FROM",
    "FROM --platform=", "FROM scratch AS", "ONBUILD", "ONBUILD RUN curl x | sh", "SHELL []",
    "WORKDIR", "VOLUME", "STOPSIGNAL", "MAINTAINER", "FOOBAR baz", "RUN \\", "RUN apt-get update && \\",
    "RUN chmod 777", "RUN sudo", "RUN curl -fsSL | bash", "COPY --from= . .", "ENV PASSWORD",
)


def test_no_check_raises_on_odd_dockerfiles() -> None:
    rng = random.Random(SEED)
    bases = [p.read_text().splitlines() for p in sorted(FIXTURES.rglob("*Dockerfile*"))]
    texts = []
    for i in range(CASES):
        lines = list(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            lines.insert(rng.randint(0, len(lines)), rng.choice(DOCKER_ODDITIES))
        texts.append((f"case-{i}/Dockerfile", "dockerfile", "\n".join(lines) + "\n"))
    report = _assess_texts(texts)
    assert _check_failures(report) == []


#: A few values of each type, for the exhaustive sweep (every hot field × every value).
SWEEP: tuple[Any, ...] = ("str", 0, 1.5, True, None, ["a", 1], {"k": "v"}, [{"a": None}])


def _paths(node: Any, pre: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield (*pre, k)
        yield from _paths(v, (*pre, k))


def _sweep_cases() -> list[str]:
    """For the richest fixture of each kind: each hot field set to each wrong value, one at a time."""
    docs = sorted(_yaml_docs(), key=lambda d: -sum(1 for _ in _slots(d)))
    kinds: set[Any] = set()
    out = []
    for doc in docs:
        if doc.get("kind") in kinds:
            continue
        kinds.add(doc.get("kind"))
        for path in _paths(doc):
            if path[-1] not in HOT or path == ("kind",):
                continue
            for value in SWEEP:
                case = copy.deepcopy(doc)
                node = case
                for step in path[:-1]:
                    node = node[step]
                node[path[-1]] = copy.deepcopy(value)
                out.append(yaml.safe_dump(case, sort_keys=False))
    return out


def test_no_check_raises_when_any_hot_field_of_any_kind_has_the_wrong_type() -> None:
    cases = _sweep_cases()
    assert len(cases) > 500
    report = _assess_texts([(f"sweep-{i}.yaml", "k8s", text) for i, text in enumerate(cases)])
    assert _check_failures(report) == []


def test_an_ingress_whose_http_is_a_number_does_not_end_the_run() -> None:
    ingress = ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n"
               "spec:\n  rules:\n  - host: a.example.com\n    http: 1.5\n  - 7\n")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
           "  - {name: a, image: nginx, securityContext: {privileged: true}}\n")
    report = _assess_texts([("ing.yaml", "k8s", ingress), ("pod.yaml", "k8s", pod)])
    assert "CNSEC-K8S-001" in {f.check_id for f in report.findings}


def test_an_owner_reference_whose_kind_is_a_list_does_not_break_the_probe_checks() -> None:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  ownerReferences: [{kind: [Job]}]\n"
           "spec:\n  containers:\n  - {name: a, image: nginx}\n")
    report = _assess_texts([("pod.yaml", "k8s", pod)])
    assert _check_failures(report) == []
    assert {"CNSEC-K8S-022", "CNSEC-K8S-023"} & {f.check_id for f in report.findings}


def test_no_check_raises_when_any_terraform_attribute_has_the_wrong_type() -> None:
    """For the first fixture of each resource type: each attribute (at any depth) set to each
    wrong value, one at a time; asset building (public or not) must survive too."""
    types: set[str] = set()
    inv = Inventory(root="fuzz")
    for res in _tf_resources():
        if res.type in types:
            continue
        types.add(res.type)
        for path in _paths(res.attrs):
            for value in (*SWEEP, 7, "0.0.0.0/0", ["0.0.0.0/0", 5]):
                case = copy.deepcopy(res)
                node: Any = case.attrs
                for step in path[:-1]:
                    node = node[step]
                node[path[-1]] = copy.deepcopy(value)
                case.file = f"sweep-{len(inv.terraform)}.tf"
                inv.terraform.append(case)
    inv.files_read = len(inv.terraform)
    assert len(types) > 20 and len(inv.terraform) > 1000
    report = assess_inventory(inv, Config())
    assert _check_failures(report) == []
