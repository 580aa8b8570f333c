"""emergency models."""
