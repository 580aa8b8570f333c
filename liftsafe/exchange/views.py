"""Pages of the exchange app (thin: selectors and services do the work)."""
