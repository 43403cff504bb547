# syntax=docker/dockerfile:1
# Data plane of the LB appliance: Debian's nginx 1.22 with the Lua module, plus the Python node agent
# (a Celery worker) that stages, tests and reloads this nginx. Both run in one pod from this image.
# Build from the repository root: docker build -f charts/images/dataplane.Dockerfile -t lb-dataplane:0.1.0 .
FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=appliance.settings \
    LB_STATE_DIR=/var/lib/lb \
    LB_NODE_PREFIX=/var/lib/lb-node

# Exact Debian 12 versions: bump them together when Debian publishes a security update.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        nginx-light=1.22.1-9+deb12u11 \
        libnginx-mod-http-lua=1:0.10.23-1+deb12u1 \
        libnginx-mod-http-ndk=1:0.3.2-3 \
        libnginx-mod-stream=1.22.1-9+deb12u11 \
        lua-resty-core=0.1.25-1 \
        lua-resty-lrucache=0.13-10 \
        lua-cjson=2.1.0+dfsg-2.2 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 lb \
    && useradd --system --uid 10001 --gid lb --home-dir /var/lib/lb --no-create-home \
        --shell /usr/sbin/nologin lb

WORKDIR /app
COPY requirements.txt charts/images/appliance-runtime.in /tmp/build/
RUN pip install -r /tmp/build/appliance-runtime.in -c /tmp/build/requirements.txt && rm -rf /tmp/build

COPY manage.py ./
COPY appliance ./appliance
COPY nginx ./nginx
COPY workers ./workers
COPY webui ./webui

# Unprivileged: virtual servers listen on 8080/8443 in the pod (the Service maps 80/443 to them).
USER 10001:10001
EXPOSE 8080 8443 8099
CMD ["nginx", "-p", "/var/lib/lb-node/", "-c", "current/main.conf", "-g", "daemon off;"]
