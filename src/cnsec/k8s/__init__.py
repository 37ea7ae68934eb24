"""The Kubernetes layer under the pillars: resources, renderers, cluster access."""
