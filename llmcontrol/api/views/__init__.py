"""REST views: explicit APIViews, read-only ViewSets for the registry."""
