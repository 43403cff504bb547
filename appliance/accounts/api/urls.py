"""Routes of the accounts API on the shared v1 router."""

from rest_framework.routers import DefaultRouter

from appliance.accounts.api import views


def register(router: DefaultRouter) -> None:
    router.register("tokens", views.ApiTokenViewSet)
    router.register("users", views.UserViewSet)
