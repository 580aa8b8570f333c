"""monitoring models."""
