"""The sample payment service that the load-balancer appliance balances (Django project and domain app).

One package holds both the Django project (settings, urls, wsgi) and the payment domain (models, services,
serializers, views), because the service has exactly one domain. See services/payment/README.md.
"""
