"""The state machine and the rotation rule, as pure functions (what the cycle and the compile rely on)."""

from __future__ import annotations

from appliance.health.machine import Counters, ramped_weights, step
from appliance.health.rotation import MemberHealth, plan


def run(results: str, rise: int = 2, fall: int = 3, start: str = "unknown") -> list[str]:
    state, seen = Counters(start, 0, 0), []
    for ok in results:
        state = step(state, ok == "+", rise, fall)
        seen.append(state.status)
    return seen


def test_it_goes_unhealthy_after_fall_failures_and_back_after_rise_successes():
    assert run("+-+--", start="healthy") == ["healthy"] * 5
    assert run("---", start="healthy") == ["healthy", "healthy", "unhealthy"]
    assert run("+-++", start="unhealthy") == ["unhealthy", "unhealthy", "unhealthy", "healthy"]
    assert run("++") == ["unknown", "healthy"]
    assert run("---") == ["unknown", "unknown", "unhealthy"]


def test_counters_count_consecutive_results_only():
    state = Counters("healthy", 0, 0)
    for ok in (False, False, True, False):
        state = step(state, ok, 2, 3)
    assert (state.successes, state.failures, state.status) == (0, 1, "healthy")


def member(key: str, unhealthy: bool, enabled: bool = True, ramp: int = 0) -> MemberHealth:
    return MemberHealth(key, enabled, unhealthy, ramp)


def test_unhealthy_servers_leave_rotation_while_another_can_serve():
    decided = plan([member("a", True), member("b", False), member("c", True, enabled=False)])
    assert (decided.out, decided.fail_open) == (frozenset({"a"}), False)


def test_every_enabled_server_unhealthy_fails_open():
    decided = plan([member("a", True), member("b", True), member("off", False, enabled=False)])
    assert (decided.out, decided.fail_open) == (frozenset(), True)


def test_unknown_servers_stay_in_rotation():
    assert plan([member("a", False), member("b", False)]).out == frozenset()


def test_ramping_member_gets_its_step_of_the_others_scaled_weights():
    decided = plan([member("a", False, ramp=1), member("b", False)])
    assert ramped_weights({"a": 2, "b": 1}, decided.ramping) == {"a": 2, "b": 4}
    assert ramped_weights({"a": 1, "b": 600}, {"a": 3}) == {"a": 3, "b": 1000}
