# syntax=docker/dockerfile:1
# Control plane of the LB appliance: web (gunicorn), Celery workers, Celery beat, migrations.
# Build from the repository root: docker build -f charts/images/appliance.Dockerfile -t lb-appliance:0.1.0 .
FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=appliance.settings \
    LB_STATE_DIR=/var/lib/lb

# The load generators and HAProxy of the benchmark runs started from the UI/API (workers.benchmarks):
# wrk (throughput, latency, failover, reload), HAProxy (the throughput comparison), h2load and openssl
# (tls), hey (autoscale). Exact Debian 12 versions: bump them together with Debian's security updates.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        wrk=4.1.0-3+b2 \
        haproxy=2.6.12-1+deb12u4 \
        hey=0.1.4-2+b4 \
        nghttp2-client=1.52.0-1+deb12u3 \
        openssl=3.0.22-1~deb12u2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt charts/images/appliance-runtime.in /tmp/build/
RUN pip install -r /tmp/build/appliance-runtime.in -c /tmp/build/requirements.txt \
    && rm -rf /tmp/build \
    && groupadd --system --gid 10001 lb \
    && useradd --system --uid 10001 --gid lb --home-dir /var/lib/lb --no-create-home \
        --shell /usr/sbin/nologin lb

COPY manage.py ./
COPY appliance ./appliance
COPY nginx ./nginx
COPY workers ./workers
COPY webui ./webui
COPY loadtests ./loadtests

# The root filesystem is read-only in the pod: state, the beat schedule and /tmp are emptyDir volumes.
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "appliance.wsgi:application", "-b", "0.0.0.0:8000"]
