"""Image and filesystem scanning."""
