"""Assessment: loaders → checks → risk → plan."""
