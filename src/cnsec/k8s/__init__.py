"""The Kubernetes layer under the pillars: objects with their sources, RBAC semantics, the live reader."""
