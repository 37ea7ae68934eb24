"""The Kubernetes layer: objects, manifests and the sources they come from."""
