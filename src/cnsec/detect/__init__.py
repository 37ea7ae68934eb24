"""cnsec detect."""
