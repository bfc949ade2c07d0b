"""Models of the roaming app."""
