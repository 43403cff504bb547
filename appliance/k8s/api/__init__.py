"""REST API of the Kubernetes domain: clusters, service bindings, endpoints, scaling policies, decisions."""
