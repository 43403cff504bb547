"""Django field validators: the rules of `appliance.health.validation`, as field-level errors."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator

from appliance.health import validation
from appliance.lb.validators import field_validator

# (minimum, maximum) of every integer setting of a health check.
BOUNDS: dict[str, tuple[int, int]] = {
    "timeout_ms": (100, 10_000),
    "interval_s": (1, 3600),
    "rise": (1, 100),
    "fall": (1, 100),
    "slow_start_s": (0, 3600),
    "port": (1, 65535),
}


validate_check_path = field_validator(validation.validate_check_path, __name__)
validate_status_set = field_validator(validation.validate_status_set, __name__)
validate_headers = field_validator(validation.validate_headers, __name__)


def bounds(field: str) -> list:
    low, high = BOUNDS[field]
    return [MinValueValidator(low), MaxValueValidator(high)]
