"""cnsec assess/loaders."""
