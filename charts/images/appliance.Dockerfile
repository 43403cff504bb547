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

# The root filesystem is read-only in the pod: state, the beat schedule and /tmp are emptyDir volumes.
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "appliance.wsgi:application", "-b", "0.0.0.0:8000"]
