"""REST API of the audit log (read-only)."""
