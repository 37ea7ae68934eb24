"""``quarantine_pod``: label the pod and isolate every pod with that label (deny all in and out).

The pod keeps running (its memory and files are evidence); one deny-all NetworkPolicy per namespace
selects the quarantine label, so quarantining a second pod only labels it. Caveat (docs/response.md):
policies are unioned, so another policy that already selects the pod still allows what it allows.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from cnsec.model.event import Alert
from cnsec.respond.actions.base import (
    MANAGED_BY,
    Action,
    ActionContext,
    ActionFailed,
    ApplyResult,
    Change,
    Param,
    Skip,
    managed_by_cnsec,
    slug,
    to_yaml,
    walk_fields,
)

_K8S_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-.")
NAMESPACE_FIELDS = ("k8s.ns.name", "namespace")


def quarantine_policy(namespace: str, name: str, label: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": dict(MANAGED_BY),
                     "annotations": {"cnsec.io/purpose": "isolate quarantined pods: no ingress, no egress"}},
        "spec": {"podSelector": {"matchLabels": {label: value}}, "policyTypes": ["Ingress", "Egress"]},
    }


def pod_from_key(key: str, default_namespace: str) -> tuple[str, str] | None:
    """``namespace/pod``, ``pod=namespace/pod``, ``pod`` (default namespace)."""
    text = key.strip()
    for prefix in ("pod=", "pod:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):].strip()
    namespace, _, name = text.rpartition("/")
    namespace = namespace or default_namespace
    if not name or not set(name) <= _K8S_NAME_CHARS or not set(namespace) <= _K8S_NAME_CHARS:
        return None
    return namespace, name


def pod_from_evidence(alert: Alert, params: dict[str, Any]) -> tuple[str, str] | None:
    """The pod an audit event acted on (``objectRef`` of resource ``pods``: exec, attach, port-forward)
    or that Falco saw (``k8s.pod.name``), when the alert is keyed by something else (a user)."""
    for ref in walk_fields(alert.evidence, {"objectRef"}):
        if isinstance(ref, dict) and ref.get("resource") == "pods" and isinstance(ref.get("name"), str):
            pod = pod_from_key(f"{ref.get('namespace') or params['namespace']}/{ref['name']}", "default")
            if pod is not None:
                return pod
    for name in walk_fields(alert.evidence, {"k8s.pod.name"}):
        if isinstance(name, str):
            pod = pod_from_key(name, QuarantinePod.namespace_from(alert, params))
            if pod is not None:
                return pod
    return None


class QuarantinePod(Action):
    id = "quarantine_pod"
    description = "label the pod and apply a deny-all (ingress and egress) NetworkPolicy to that label"
    params = {
        "namespace": Param("str", "default", "namespace when the alert key is a bare pod name"),
        "label": Param("str", "cnsec.io/quarantine", "label key set on the pod"),
        "value": Param("str", "true", "label value"),
        "policy_name": Param("str", "cnsec-quarantine", "name of the deny-all NetworkPolicy"),
    }

    def plan(self, alert: Alert, params: dict[str, Any], ctx: ActionContext) -> list[Change]:
        pod = pod_from_key(alert.key, self.namespace_from(alert, params)) or pod_from_evidence(alert, params)
        if pod is None:
            raise Skip(f"alert key {alert.key!r} is not a pod (namespace/name) and its evidence names none")
        ns, name = pod
        label, value = params["label"], params["value"]
        patch = {"metadata": {"labels": {label: value}}}
        kubectl = shlex.join(["kubectl", "label", "pod", "-n", ns, name, f"{label}={value}", "--overwrite"])
        pname = params["policy_name"]
        policy = quarantine_policy(ns, pname, label, value)
        return [
            Change(action=self.id, kind="pod-label", target=f"pod {ns}/{name}", subject=f"{ns}/{name}",
                   description=f"label pod {ns}/{name} {label}={value}",
                   artifact=f"# {kubectl}\n# merge patch for pod {ns}/{name}:\n{json.dumps(patch)}\n",
                   artifact_name="pod-labels.txt", artifact_mode="append",
                   data={"namespace": ns, "name": name, "labels": {label: value}},
                   names=(f"{ns}/{name}",)),
            Change(action=self.id, kind="networkpolicy", target=f"networkpolicy {ns}/{pname}",
                   subject=f"{ns}/{name}",
                   description=f"deny all traffic of pods labelled {label}={value} in {ns}",
                   artifact=to_yaml(policy), artifact_name=f"networkpolicy-{slug(ns)}-{slug(pname)}.yaml",
                   data={"namespace": ns, "policy": policy}, names=(f"{ns}/{name}",)),
        ]

    @staticmethod
    def namespace_from(alert: Alert, params: dict[str, Any]) -> str:
        """A bare pod key (Falco's ``pod=web-1``) takes its namespace from the evidence when it is
        there (``k8s.ns.name``, ``objectRef.namespace``), else from the parameter."""
        for name in NAMESPACE_FIELDS:
            for value in walk_fields(alert.evidence, {name}):
                if isinstance(value, str) and value and set(value) <= _K8S_NAME_CHARS:
                    return value
        return str(params["namespace"])

    def in_effect(self, change: Change, ctx: ActionContext) -> bool:
        data = change.data
        if change.kind == "pod-label":
            pod = ctx.kube().read_pod(data["namespace"], data["name"])
            labels = ((pod or {}).get("metadata") or {}).get("labels") or {}
            return pod is not None and all(labels.get(k) == v for k, v in data["labels"].items())
        current = ctx.kube().read_network_policy(data["namespace"], data["policy"]["metadata"]["name"])
        return current is not None and current.get("spec") == data["policy"]["spec"]

    def apply(self, change: Change, ctx: ActionContext) -> ApplyResult:
        data = change.data
        kube = ctx.kube()
        if change.kind == "pod-label":
            if kube.read_pod(data["namespace"], data["name"]) is None:
                raise ActionFailed(f"pod {data['namespace']}/{data['name']} not found")
            kube.patch_pod_labels(data["namespace"], data["name"], data["labels"])
            return ApplyResult(True, f"labelled pod {data['namespace']}/{data['name']}")
        policy = data["policy"]
        ns, name = data["namespace"], policy["metadata"]["name"]
        current = kube.read_network_policy(ns, name)
        if current is None:
            kube.create_network_policy(ns, policy)
            return ApplyResult(True, f"created networkpolicy {ns}/{name}")
        if current.get("spec") == policy["spec"]:
            return ApplyResult(False, f"networkpolicy {ns}/{name} already in place")
        if not managed_by_cnsec(current):
            raise ActionFailed(f"networkpolicy {ns}/{name} exists and is not managed by cnsec")
        body = dict(policy, metadata=dict(policy["metadata"],
                                          resourceVersion=current["metadata"].get("resourceVersion")))
        kube.replace_network_policy(ns, name, body)
        return ApplyResult(True, f"replaced networkpolicy {ns}/{name}")


ACTION = QuarantinePod()
