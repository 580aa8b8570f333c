"""The report's indicator families (split out of :mod:`liftsafe.reports.selectors`, which builds the report)."""
