"""Security middleware of the UI: a Content-Security-Policy header, and static files served by the app.

Django 5.2 has no CSP support of its own; the policy text lives in settings (`LB_CONTENT_SECURITY_POLICY`)
so the whole security posture is read in one place. A response that already carries a policy keeps it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.LB_CONTENT_SECURITY_POLICY
        self.exempt = tuple(settings.LB_CSP_EXEMPT_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.exempt):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, serving the apps' static directories (`WHITENOISE_USE_FINDERS`) and `STATIC_ROOT`.

    `STATIC_ROOT` exists only once `collectstatic` has run; until then there is nothing to add from it, and
    WhiteNoise's warning about the missing directory would repeat in every process.
    """

    def add_files(self, root: str, prefix: str | None = None) -> None:
        if os.path.isdir(root):
            super().add_files(root, prefix)
