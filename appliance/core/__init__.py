"""Cross-cutting pieces: health endpoints, request ids, JSON logging, object storage, bootstrap."""
