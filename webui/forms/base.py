"""A model form that shows every error of the model's `clean()`, even for fields it does not display.

Django refuses (ValueError) to attach a model error to a field the form lacks; the models of this project
grow new fields and cross-field rules as features land, so such an error is shown at the top of the form,
named, instead of turning into a server error.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class CleanModelForm(forms.ModelForm):
    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            for field in [f for f in errors.error_dict if f != NON_FIELD_ERRORS and f not in self.fields]:
                named = [
                    ValidationError(f"{field.replace('_', ' ')}: {message}")
                    for error in errors.error_dict.pop(field)
                    for message in error.messages
                ]
                errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(named)
        super()._update_errors(errors)
