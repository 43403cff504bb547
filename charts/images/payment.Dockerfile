# syntax=docker/dockerfile:1
# The sample payment service (services/payment) that the appliance balances and scales.
# Build from the repository root: docker build -f charts/images/payment.Dockerfile -t lb-payment:0.1.0 .
FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=payment.settings

# gunicorn reads gunicorn.conf.py (hooks, JSON logs, no control socket) from the working directory.
WORKDIR /app
COPY requirements.txt charts/images/payment-runtime.in /tmp/build/
RUN pip install -r /tmp/build/payment-runtime.in -c /tmp/build/requirements.txt \
    && rm -rf /tmp/build \
    && groupadd --system --gid 10001 payment \
    && useradd --system --uid 10001 --gid payment --no-create-home --shell /usr/sbin/nologin payment

COPY services/payment/gunicorn.conf.py ./
COPY services/payment/payment ./payment

USER 10001:10001
EXPOSE 8080
CMD ["gunicorn", "payment.wsgi:application", "-b", "0.0.0.0:8080"]
