"""A read-only reader of a live Kubernetes cluster (:mod:`cnsec.k8s.live.reader`): every kind the checks
and RBAC resolution use, paged, concurrent, Secrets as metadata only. See docs/cluster.md.

Nothing is imported here: the CLI imports :mod:`cnsec.k8s.live.options` at start-up, and the reader
(orjson, the Kubernetes client) only when a cluster is read."""
