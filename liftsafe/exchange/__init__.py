"""Data exchange with provincial and national platforms: outbound outbox, inbound scheduled imports (FACTS §3.5, §10)."""
