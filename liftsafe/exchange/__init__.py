"""Data exchange with provincial and national platforms: outbound outbox, inbound scheduled imports (docs/domain §3.5, §10)."""
