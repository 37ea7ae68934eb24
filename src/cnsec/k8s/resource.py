"""A Kubernetes object as cnsec reads it: kind, API version, name, namespace, the document, and where it
came from (file and line range), with line-aware access to its fields.

Every pillar that reads Kubernetes (assess checks, the RBAC model, the live reader, the renderers) works on
this one type, so a finding anywhere points to the same file:line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnsec.yamlsafe import LineDict

#: Kinds without a namespace (``metadata.namespace`` is ignored on them).
CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
    "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "PodSecurityPolicy", "PriorityClass", "APIService", "IngressClass", "RuntimeClass",
    "CertificateSigningRequest", "ClusterIssuer", "ValidatingAdmissionPolicy",
}


@dataclass(slots=True)
class K8sResource:
    """One object of a manifest, a cluster dump or a rendered chart, at ``file`` lines ``line``..``end_line``."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    doc: dict[str, Any]
    file: str
    line: int
    end_line: int
    key: str = ""  # asset id, set by the inventory (unique within a run)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def metadata(self) -> dict[str, Any]:
        m = self.doc.get("metadata")
        return m if isinstance(m, dict) else {}

    @property
    def labels(self) -> dict[str, Any]:
        v = self.metadata.get("labels")
        return v if isinstance(v, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        v = self.metadata.get("annotations")
        return v if isinstance(v, dict) else {}

    @property
    def effective_namespace(self) -> str | None:
        if self.kind in CLUSTER_SCOPED:
            return None
        return self.namespace or "default"

    def get(self, *path: str | int) -> Any:
        """Walk ``path`` through dicts and lists; ``None`` where it does not exist."""
        node: Any = self.doc
        for step in path:
            if isinstance(step, int):
                if not isinstance(node, list) or step >= len(node):
                    return None
                node = node[step]
            else:
                if not isinstance(node, dict):
                    return None
                node = node.get(step)
        return node

    def line_at(self, *path: str | int) -> int:
        """The line of the deepest key of ``path`` that exists (the resource's line at worst)."""
        node: Any = self.doc
        line = self.line
        for step in path:
            if isinstance(step, int):
                if not isinstance(node, list) or step >= len(node):
                    break
                node = node[step]
                if isinstance(node, LineDict) and node.line:
                    line = node.line
            else:
                if not isinstance(node, dict) or step not in node:
                    break
                if isinstance(node, LineDict):
                    line = node.key_lines.get(step, line)
                node = node[step]
        return line
