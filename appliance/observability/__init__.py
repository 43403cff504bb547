"""Observability: data-plane metric rollups for the UI and the autoscaler; the control plane's /metrics."""
