"""Virtual server and route forms, and the route tester's sample request.

Array fields are typed as comma-separated lists; each item is validated.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django import forms

from appliance.lb.api.gateway_serializers import RouteSampleSerializer
from appliance.lb.choices import HttpMethod
from appliance.lb.models import Route, Upstream, VirtualServer
from webui.forms.base import CleanModelForm
from webui.forms.serialized import SerializerForm


def upstream_choice(**kwargs: object) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=Upstream.objects.only("id", "name"), **kwargs)


# The route form's fields in the order an operator thinks of them: what matches, then what happens.
ROUTE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Match", ("priority", "path_kind", "path_prefix", "host", "methods")),
    (
        "Match a header, cookie or query parameter",
        (
            "header_name",
            "header_match",
            "header_value",
            "cookie_name",
            "cookie_match",
            "cookie_value",
            "query_name",
            "query_match",
            "query_value",
        ),
    ),
    (
        "Action",
        (
            "action",
            "upstream",
            "strip_prefix",
            "rewrite_prefix",
            "redirect_status",
            "redirect_url",
            "respond_status",
            "respond_body",
        ),
    ),
    (
        "Canary",
        (
            "canary_upstream",
            "canary_weight",
            "canary_header",
            "canary_header_value",
            "canary_cookie",
            "canary_cookie_value",
        ),
    ),
    ("Headers", ("request_headers", "request_headers_remove", "response_headers", "response_headers_remove")),
)


class VirtualServerForm(CleanModelForm):
    default_upstream = upstream_choice(
        required=False, help_text="Requests that match no route go here; empty = answer 404."
    )

    class Meta:
        model = VirtualServer
        fields = ["name", "hostnames", "http_ports", "default_upstream"]
        help_texts = {
            "hostnames": "Comma-separated, e.g. shop.example.com, *.example.org. Empty = any host.",
            "http_ports": "Comma-separated TCP ports, e.g. 80, 8080.",
        }

    def clean_http_ports(self) -> list[int]:
        ports = self.cleaned_data["http_ports"]
        if len(set(ports)) != len(ports):
            raise forms.ValidationError("ports must not repeat")
        return sorted(ports)


class RouteForm(CleanModelForm):
    """A route of the virtual server given as the instance (`Route(virtual_server=...)` when adding)."""

    upstream = upstream_choice(required=False, help_text="Where a forward route sends the request.")
    canary_upstream = upstream_choice(required=False)
    methods = forms.MultipleChoiceField(
        choices=HttpMethod.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked = any method.",
    )

    class Meta:
        model = Route
        fields = [name for _, names in ROUTE_GROUPS for name in names]
        help_texts = {"priority": "Lower numbers are tried first."}

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in ROUTE_GROUPS]


def _pairs(text: str, separator: str, what: str) -> dict[str, str]:
    """`Name<separator>value` lines (or `;`-separated for cookies) into a dict; a malformed line is named."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, found, value = line.partition(separator)
        if not found or not name.strip():
            raise forms.ValidationError(f"line {number}: expected {what}")
        pairs[name.strip()] = value.strip()
    return pairs


class RouteSampleForm(SerializerForm):
    """A sample request for the route tester, checked by the API's `RouteSampleSerializer`."""

    serializer_class = RouteSampleSerializer

    method = forms.ChoiceField(choices=HttpMethod.choices, initial=HttpMethod.GET)
    host = forms.CharField(required=False, max_length=260, help_text="As in the Host header.")
    path = forms.CharField(initial="/", max_length=4096, help_text="The path, without the query string.")
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 50}),
        help_text="One Name: value per line.",
    )
    cookies = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 50}),
        help_text="One name=value per line.",
    )
    query = forms.CharField(
        required=False, label="Query string", max_length=4096, help_text="e.g. version=2&debug=1"
    )

    def __init__(self, *args: object, virtual_server: VirtualServer, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.virtual_server = virtual_server

    def clean_headers(self) -> dict[str, str]:
        return _pairs(self.cleaned_data["headers"], ":", "Name: value")

    def clean_cookies(self) -> dict[str, str]:
        return _pairs(self.cleaned_data["cookies"], "=", "name=value")

    def clean_query(self) -> dict[str, str]:
        # First value wins, as nginx's $arg_name gives the first occurrence.
        pairs: dict[str, str] = {}
        for name, value in parse_qsl(self.cleaned_data["query"].lstrip("?"), keep_blank_values=True):
            pairs.setdefault(name, value)
        return pairs

    def to_data(self, cleaned: dict[str, object]) -> dict[str, object]:
        return {**cleaned, "virtual_server": self.virtual_server.pk}
