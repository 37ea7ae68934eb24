"""cnsec iam."""
