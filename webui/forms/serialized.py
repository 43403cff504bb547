"""Forms whose rules are the API serializer's: the form only lays out fields, the serializer decides.

The TLS and Kubernetes objects are created through input serializers (certificate upload, generate,
ACME, TLS bindings, clusters with their kubeconfig) that parse and check what the API receives. The UI
posts the same input through the same serializer, so a rule lives in one place; each serializer error is
shown next to the field it names (an item of a list field as "Item N: ...", like Django's array fields).
"""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import serializers


class SecretTextarea(forms.Textarea):
    """A textarea that never sends its value back to the browser (private keys, kubeconfigs)."""

    def format_value(self, value: Any) -> None:
        return None


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _messages(detail: Any) -> list[str]:
    """DRF's nested error detail flattened: `{1: ["bad"]}` of a list field becomes "Item 2: bad"."""
    if isinstance(detail, dict):
        found = []
        for key, inner in detail.items():
            prefix = f"Item {int(key) + 1}: " if str(key).isdigit() else f"{key}: "
            found += [prefix + message for message in _messages(inner)]
        return found
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


class SerializerForm(forms.Form):
    """A form checked by `serializer_class`; `serializer` holds the valid, saveable serializer afterwards.

    Subclasses map their cleaned fields to the serializer's input in `to_data`. `instance` is the object
    being edited (model serializers only); `partial` is passed through for edits of a subset of fields.
    """

    serializer_class: type[serializers.Serializer]
    # Serializer field -> the form field that shows its errors, where the form lays it out differently.
    field_aliases: dict[str, str] = {}

    def __init__(self, *args: Any, instance: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.serializer: serializers.Serializer | None = None

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return cleaned

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:  # a field the form itself refused: its message is already in place
            return cleaned
        serializer = self.serializer_class(instance=self.instance, data=self.to_data(dict(cleaned)))
        if serializer.is_valid():
            self.serializer = serializer
            return cleaned
        for name, detail in serializer.errors.items():
            field = self.field_aliases.get(name, name)
            target = field if field in self.fields else None
            prefix = "" if target or field == "non_field_errors" else f"{field.replace('_', ' ')}: "
            for message in _messages(detail):
                self.add_error(target, prefix + message)
        return cleaned

    @property
    def validated(self) -> dict[str, Any]:
        assert self.serializer is not None, "call is_valid() first"
        return dict(self.serializer.validated_data)


def _initial(instance: Any, form_class: type[forms.Form]) -> dict[str, Any]:
    """The instance's values for the form's fields (foreign keys by id)."""
    initial = {}
    for name in form_class.base_fields:
        attname = f"{name}_id" if hasattr(instance, f"{name}_id") else name
        if hasattr(instance, attname):
            initial[name] = getattr(instance, attname)
    return initial


class InstanceForm(SerializerForm):
    """A serializer form that edits a model instance: its fields start with the instance's values."""

    def __init__(self, *args: Any, instance: Any = None, **kwargs: Any) -> None:
        if instance is not None and not kwargs.get("initial"):
            kwargs["initial"] = _initial(instance, type(self))
        super().__init__(*args, instance=instance, **kwargs)

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {key: getattr(value, "pk", value) for key, value in cleaned.items()}
