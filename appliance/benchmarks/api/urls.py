"""Routes of the benchmark API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.benchmarks.api import views


def register(router: DefaultRouter) -> None:
    router.register("benchmarks", views.BenchmarkRunViewSet)
