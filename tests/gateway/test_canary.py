"""Traffic split and canaries: a 90/10 split measured over 5,000 requests, exact header/cookie canaries."""

from __future__ import annotations

from tests.support.lb import spread


def test_a_90_10_split_lands_within_two_points(gateway):
    stable, canary = gateway.upstream("stable"), gateway.upstream("canary")
    gateway.virtual_server(None)
    gateway.route(path_prefix="/pay", upstream=stable.pk, canary_upstream=canary.pk, canary_weight=10)
    gateway.live()
    seen = spread(f"http://127.0.0.1:{gateway.port}/pay/x", 5000, threads=8, headers={"Host": "gw.test"})
    assert sum(seen.values()) == 5000 and set(seen) == {"stable", "canary"}, seen
    assert abs(seen["canary"] / 5000 * 100 - 10) <= 2, seen


def test_header_and_cookie_canaries_are_exact(gateway):
    stable, canary = gateway.upstream("stable"), gateway.upstream("canary")
    gateway.virtual_server(None)
    gateway.route(
        path_prefix="/pay",
        upstream=stable.pk,
        canary_upstream=canary.pk,
        canary_header="X-Canary",
        canary_header_value="always",
        canary_cookie="canary",
        canary_cookie_value="yes",
    )
    gateway.live()
    url = f"http://127.0.0.1:{gateway.port}/pay"
    assert spread(url, 300, headers={"Host": "gw.test"}) == {"stable": 300}
    assert spread(url, 300, headers={"Host": "gw.test", "X-Canary": "always"}) == {"canary": 300}
    assert spread(url, 300, headers={"Host": "gw.test", "Cookie": "a=b; canary=yes"}) == {"canary": 300}
    assert spread(url, 300, headers={"Host": "gw.test", "X-Canary": "Always"}) == {"stable": 300}
    assert spread(url, 300, headers={"Host": "gw.test", "Cookie": "canary=no"}) == {"stable": 300}
