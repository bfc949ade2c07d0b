"""Models of the procedures app."""
