"""Celery tasks (thin: ids in, a service call, transient errors mapped to retries) and the beat schedule."""
