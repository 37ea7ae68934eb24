"""A read-only reader of a live Kubernetes cluster: every kind the checks and RBAC resolution use,
paged, concurrent, Secrets as metadata only. See docs/cluster.md."""

from cnsec.k8s.live.reader import ClusterRead, connect, read_cluster

__all__ = ["ClusterRead", "connect", "read_cluster"]
