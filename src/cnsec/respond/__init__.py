"""cnsec respond."""
