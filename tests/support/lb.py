"""Helpers for data-plane tests: real backends, waiting for a revision to be live, bounded request loops."""

from __future__ import annotations

import http.client
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from loadtests.harness import Backend, free_port, node_revision, wait_until

__all__ = ["Backend", "free_port", "get", "node_revision", "spread", "wait_live", "wait_until"]


def wait_live(status_urls: list[str], timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """Wait until desired state is compiled and the newest revision is applied and served by every node."""
    from appliance.lb.models import ConfigRevision, DesiredState

    def done():  # type: ignore[no-untyped-def]
        state = DesiredState.objects.filter(pk=1).first()
        if state and state.compiled_generation < state.generation:
            return None
        latest = ConfigRevision.objects.order_by("-number").first()
        if latest is None or latest.status == "pending":
            return None
        if latest.status == "applied" and any(node_revision(u) != latest.number for u in status_urls):
            return None
        return latest

    return wait_until(done, timeout, "the newest revision to be live")


def get(
    url: str, headers: dict[str, str] | None = None, source: str | None = None, timeout: float = 5.0
) -> tuple[int, str]:
    """One request on a fresh connection; returns (status, X-Backend)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1] if url.count("/") > 2 else "/"
    conn = http.client.HTTPConnection(
        host, int(port), timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("X-Backend", "")
    finally:
        conn.close()


def spread(url: str, count: int, threads: int = 8, headers: dict[str, str] | None = None) -> Counter[str]:
    """Send `count` GETs over `threads` keep-alive connections; count answers by backend (or error kind)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1] if url.count("/") > 2 else "/"

    def worker(n: int) -> Counter[str]:
        seen: Counter[str] = Counter()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        for _ in range(n):
            try:
                conn.request("GET", path, headers=headers or {})
                response = conn.getresponse()
                response.read()
                key = (
                    response.getheader("X-Backend") if response.status == 200 else f"status {response.status}"
                )
                seen[key or "no backend"] += 1
            except (OSError, http.client.HTTPException) as exc:
                seen[f"error {type(exc).__name__}"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.close()
        return seen

    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    total: Counter[str] = Counter()
    with ThreadPoolExecutor(threads) as pool:
        for result in pool.map(worker, shares):
            total.update(result)
    return total
