"""Benchmarks run from the UI or the API against a virtual server of the running appliance."""
