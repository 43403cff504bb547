"""Choosing two revisions to compare."""

from __future__ import annotations

from django import forms

from appliance.lb.models import ConfigRevision


class RevisionDiffForm(forms.Form):
    old = forms.IntegerField(label="From revision", min_value=1)
    new = forms.IntegerField(label="To revision", min_value=1)

    def clean(self) -> dict:
        cleaned = super().clean()
        numbers = {cleaned.get("old"), cleaned.get("new")} - {None}
        found = {
            r.number: r for r in ConfigRevision.objects.filter(number__in=numbers).only("number", "files")
        }
        for field in ("old", "new"):
            number = cleaned.get(field)
            if number is not None and number not in found:
                self.add_error(field, f"there is no revision {number}")
            cleaned[f"{field}_revision"] = found.get(number)
        return cleaned
