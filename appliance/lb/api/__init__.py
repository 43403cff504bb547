"""REST API of the load-balancing domain."""
