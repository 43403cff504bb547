"""The load-balancing domain: upstream pools, their servers, virtual servers, routes, config revisions."""
