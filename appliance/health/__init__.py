"""Active health checks: per-upstream check settings, per-server health state, history and alerts."""
