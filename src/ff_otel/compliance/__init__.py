"""Compliance: the tamper-evident audit trail, security events, retention, export, reports."""
