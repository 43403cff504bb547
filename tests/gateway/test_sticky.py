"""Cookie stickiness: 500 clients keep their backend; `drain` keeps its clients and takes no new ones;
a server taken out moves its own clients and nobody else's."""

from __future__ import annotations

import http.client
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from appliance.lb import services
from appliance.lb.models import Server

CLIENTS = 500
REQUESTS = 20


class Client:
    """A browser-like client: keeps the cookie the LB issues."""

    def __init__(self, port: int) -> None:
        self.port, self.cookie, self.issued = port, "", 0

    def get(self, conn: http.client.HTTPConnection) -> str:
        conn.request(
            "GET", "/cart", headers={"Host": "gw.test", **({"Cookie": self.cookie} if self.cookie else {})}
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        issued = response.getheader("Set-Cookie")
        if issued:
            self.issued += 1
            self.cookie = issued.split(";", 1)[0]
        return response.getheader("X-Backend")


def visit(clients: list[Client], port: int, times: int) -> list[Counter[str]]:
    """Every client sends `times` requests; returns the backends each client saw."""

    def run(chunk: list[Client]) -> list[Counter[str]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            return [Counter(client.get(conn) for _ in range(times)) for client in chunk]
        finally:
            conn.close()

    chunks = [clients[i::10] for i in range(10)]
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(run, chunks))
    by_client = {
        id(c): seen
        for chunk, seen in zip(chunks, results, strict=True)
        for c, seen in zip(chunk, seen, strict=True)
    }
    return [by_client[id(c)] for c in clients]


def set_state(address_port: int, state: str, gateway) -> None:
    Server.objects.filter(port=address_port).update(state=state)
    services.mark_changed(f"server {address_port} {state}", "tests")
    gateway.live()


def test_cookie_clients_stay_and_only_a_removed_servers_clients_move(gateway):
    upstream = gateway.upstream("cart", backends=3)
    gateway.post(
        "/api/v1/sticky-policies/", {"upstream": upstream.pk, "kind": "cookie", "cookie_name": "lb_cart"}
    )
    gateway.virtual_server(upstream)
    gateway.live()
    clients = [Client(gateway.port) for _ in range(CLIENTS)]
    first = visit(clients, gateway.port, REQUESTS)
    assert all(len(seen) == 1 for seen in first), "a client changed backend"
    assert all(c.issued == 1 and c.cookie.startswith("lb_cart=") for c in clients)
    home = [next(iter(seen)) for seen in first]
    assert set(home) == {"cart-0", "cart-1", "cart-2"} and min(Counter(home).values()) > CLIENTS / 6

    drained = gateway.pools.started[1]
    set_state(drained.port, "drain", gateway)
    after_drain = [next(iter(seen)) for seen in visit(clients, gateway.port, 2)]
    assert after_drain == home, "draining moved clients bound to the server"
    newcomers = [Client(gateway.port) for _ in range(100)]
    assert "cart-1" not in {b for seen in visit(newcomers, gateway.port, 3) for b in seen}

    set_state(drained.port, "disabled", gateway)
    after_disable = [next(iter(seen)) for seen in visit(clients, gateway.port, 2)]
    moved = [i for i, (before, now) in enumerate(zip(home, after_disable, strict=True)) if before != now]
    assert moved and all(home[i] == "cart-1" for i in moved), "a client of another server moved"
    assert len(moved) == home.count("cart-1"), "a client of the removed server stayed on it"
