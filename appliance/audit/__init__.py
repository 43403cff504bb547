"""Audit log: who changed what (before/after), and every authentication and permission decision."""
