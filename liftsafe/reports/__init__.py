"""Statistics, dashboards and periodic fault-analysis reports (docs/domain §3.6, §3.3 step 8)."""
