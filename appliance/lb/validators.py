"""Django field validators: the allow-list rules of `nginx.validation`, as field-level errors.

One set of rules serves the API, the UI forms and the compiler, so an invalid value is refused at the
boundary with the same message the compiler would give, never discovered by `nginx -t`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

from nginx import validation


def field_validator(rule: Callable[[object], object], module: str = __name__) -> Callable[[object], None]:
    """A model/serializer validator from a plain rule that raises ValueError with a user-facing message.

    `module` is where the validator is defined: migrations refer to it by that path.
    """

    def validator(value: object) -> None:
        try:
            rule(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    validator.__name__ = rule.__name__
    validator.__qualname__ = rule.__name__
    validator.__module__ = module
    return validator


validate_name = field_validator(validation.validate_name)
validate_address = field_validator(validation.validate_address)
validate_server_name = field_validator(validation.validate_server_name)
validate_header_name = field_validator(validation.validate_header_name)
validate_path_prefix = field_validator(validation.validate_path_prefix)


def bounds(field: str) -> list:
    """Min/max validators with the compiler's own limits for `field` (see nginx.validation.BOUNDS)."""
    low, high = validation.BOUNDS[field]
    return [MinValueValidator(low), MaxValueValidator(high)]
