"""Django app config for Kubernetes discovery and autoscaling."""

from django.apps import AppConfig


class K8sConfig(AppConfig):
    name = "appliance.k8s"
    label = "k8s"
    verbose_name = "Kubernetes"
