"""Kubernetes: clusters, service discovery into upstream pools, and autoscaling from load-balancer metrics."""
