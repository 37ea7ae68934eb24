"""cnsec assess/checks."""
