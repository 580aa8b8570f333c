"""Statistics, dashboards and periodic fault-analysis reports (FACTS §3.6, §3.3 step 8)."""
