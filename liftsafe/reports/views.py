"""Pages of the reports app (thin: selectors and services do the work)."""
