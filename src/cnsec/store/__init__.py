"""cnsec store."""
