"""REST API of health checks: check settings, per-server health state, transition history, alerts."""
