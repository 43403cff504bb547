"""The HTTP front end: authentication, authorization, content negotiation and framing.

Built on the standard library's ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, so
the official Python client and kubectl can use it as they would a real API server (over plain
HTTP on loopback). Every answer carries an ``X-Kubesim: simulated`` header.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

from . import errors
from .operations import ListQuery, Operations
from .rbac import Authorizer
from .resources import version_document
from .routing import Route, discovery_document, flag, parse_route
from .tables import partial_metadata, to_table
from .watch import WatchQuery, WatchStream

logger = logging.getLogger("kubesim.api")

_PUBLIC_PATHS = {"/healthz", "/livez", "/readyz"}


class ApiServer(ThreadingHTTPServer):
    """The listening socket plus everything request handlers need."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        ops: Operations,
        authorizer: Authorizer,
        stop: threading.Event,
        bookmark_interval: float = 1.0,
        max_watch_seconds: float = 1800.0,
        ssl_context: ssl.SSLContext | None = None,
    ):
        super().__init__(address, ApiHandler)
        self.ssl_context = ssl_context
        self.ops = ops
        self.authorizer = authorizer
        self.stop = stop
        self.bookmark_interval = bookmark_interval
        self.max_watch_seconds = max_watch_seconds

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.address}"

    def finish_request(self, request, client_address) -> None:  # type: ignore[override]
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        # The TLS handshake runs here, in the connection's own thread, so a slow or broken client
        # cannot stall the accept loop; the timeout bounds a client that never finishes it.
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return None
        try:
            tls.settimeout(None)
            super().finish_request(tls, client_address)
        finally:
            tls.close()
        return None


class ApiHandler(BaseHTTPRequestHandler):
    """One request: resolve, authorize, run the verb, write the answer."""

    protocol_version = "HTTP/1.1"
    server: ApiServer
    server_version = "kubesim"
    timeout = 300  # idle keep-alive connections are closed after this many seconds

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    # -- request flow ------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        self._streaming = False
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
            if method == "GET" and url.path == "/version":
                return self._send_json(200, version_document())
            if method == "GET" and url.path in _PUBLIC_PATHS:
                return self._send(200, b"ok", "text/plain")
            user = self.server.authorizer.authenticate(self.headers.get("Authorization"))
            document = discovery_document(url.path, self.server.address) if method == "GET" else None
            if document is not None:
                return self._send_json(200, document)
            route = parse_route(url.path)
            verb = route.verb(method, params)
            self.server.authorizer.authorize(
                user, verb, route.rt, route.subresource, route.namespace, route.name or ""
            )
            self._run_verb(verb, route, params, body)
        except errors.ApiError as exc:
            self._send_json(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            logger.exception("internal error on %s %s", method, self.path)
            if self._streaming:  # headers already sent: a Status now would corrupt the stream
                self.close_connection = True
                return None
            self._send_json(
                500, errors.failure_status(500, "InternalError", f"Internal error occurred: {exc}")
            )

    def _run_verb(self, verb: str, route: Route, params: dict[str, str], body: bytes) -> None:
        ops, rt, ns, name, sub = (
            self.server.ops,
            route.rt,
            route.namespace,
            route.name or "",
            route.subresource,
        )
        dry_run = params.get("dryRun") == "All"
        if verb == "watch":
            return self._stream_watch(route, params)
        if verb == "list":
            return self._send_list(route, ops.list(rt, ns, _list_query(params)))
        if verb == "get":
            return self._send_object(
                route, ops.get_scale(ns, name) if sub == "scale" else ops.get(rt, ns, name)
            )
        if verb in ("create", "update") and "protobuf" in self._ctype():
            # client-go typed clients (e.g. `kubectl create deployment`) send protobuf; kubesim
            # speaks JSON only, and says so the way the real server refuses unknown formats.
            raise errors.unsupported_media_type(self._ctype())
        if verb == "create":
            return self._send_object(
                route, ops.create(rt, ns, _parse_object(self._ctype(), body), dry_run), 201
            )
        if verb == "update":
            obj = _parse_object(self._ctype(), body)
            if sub == "scale":
                return self._send_object(route, ops.update_scale(ns, name, obj, dry_run))
            write = ops.update_status if sub == "status" else ops.update
            return self._send_object(route, write(rt, ns, name, obj, dry_run))
        if verb == "patch":
            return self._send_object(route, ops.patch(rt, ns, name, sub, self._ctype(), body, dry_run))
        options = _parse_object("application/json", body) if body.strip() else {}
        if verb == "delete":
            return self._send_json(200, ops.delete(rt, ns, name, options, dry_run))
        return self._send_json(200, ops.delete_collection(rt, ns, _list_query(params), dry_run))

    # -- helpers -----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _ctype(self) -> str:
        return (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()

    def _accepts(self, as_kind: str) -> bool:
        return f"as={as_kind}" in (self.headers.get("Accept") or "")

    def _send(self, code: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("X-Kubesim", "simulated")
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, code: int, obj: dict) -> None:
        self._send(code, json.dumps(obj).encode())

    def _send_object(self, route: Route, obj: dict, code: int = 200) -> None:
        if self._accepts("Table") and route.subresource is None:
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return self._send_json(code, to_table(route.rt, [obj], meta, self._include_object()))
        if self._accepts("PartialObjectMetadata"):
            return self._send_json(code, partial_metadata(obj))
        self._send_json(code, obj)

    def _send_list(self, route: Route, listing: dict) -> None:
        if self._accepts("Table"):
            table = to_table(route.rt, listing["items"], listing["metadata"], self._include_object())
            return self._send_json(200, table)
        if self._accepts("PartialObjectMetadataList"):
            items = [partial_metadata(o) for o in listing["items"]]
            kind = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1"}
            return self._send_json(200, {**kind, "metadata": listing["metadata"], "items": items})
        self._send_json(200, listing)

    def _include_object(self) -> str:
        return parse_qs(urlsplit(self.path).query).get("includeObject", ["Metadata"])[-1]

    # -- watch -------------------------------------------------------------------------------
    def _stream_watch(self, route: Route, params: dict[str, str]) -> None:
        timeout = min(
            float(params.get("timeoutSeconds") or self.server.max_watch_seconds),
            self.server.max_watch_seconds,
        )
        field_selector = params.get("fieldSelector")
        if route.name:  # legacy single-object watch: /watch/.../NAME
            field_selector = ",".join(filter(None, [field_selector, f"metadata.name={route.name}"]))
        query = WatchQuery(
            rt=route.rt,
            namespace=route.namespace,
            label_selector=params.get("labelSelector"),
            field_selector=field_selector,
            resource_version=params.get("resourceVersion"),
            send_initial_events=flag(params, "sendInitialEvents"),
            allow_bookmarks=flag(params, "allowWatchBookmarks"),
            timeout_seconds=timeout,
        )
        # Building the stream parses the selectors, so a bad one is a 400 before any header is sent.
        stream = WatchStream(self.server.ops.store, query, self.server.stop, self.server.bookmark_interval)
        events = stream.events(client_gone=self._client_gone)
        self._streaming = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Kubesim", "simulated")
        self.end_headers()
        as_table = self._accepts("Table")
        for event in events:
            if as_table and event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                obj = event["object"]
                meta = {"resourceVersion": obj["metadata"]["resourceVersion"]}
                event = {
                    "type": event["type"],
                    "object": to_table(route.rt, [obj], meta, self._include_object()),
                }
            self._write_chunk(json.dumps(event).encode() + b"\n")
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _client_gone(self) -> bool:
        # A watcher that hung up is only noticed on the next write; peeking lets an idle watch
        # without bookmarks end promptly instead of holding a thread until its timeout.
        # Over TLS anything readable (close_notify, EOF) means the same: watch clients send nothing.
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return (
                isinstance(self.connection, ssl.SSLSocket) or self.connection.recv(1, socket.MSG_PEEK) == b""
            )
        except OSError:
            return True


def _list_query(params: dict[str, str]) -> ListQuery:
    try:
        limit = int(params.get("limit") or 0)
    except ValueError:
        raise errors.bad_request("limit must be an integer") from None
    return ListQuery(
        label_selector=params.get("labelSelector"),
        field_selector=params.get("fieldSelector"),
        limit=max(limit, 0),
        continue_token=params.get("continue") or None,
        resource_version=params.get("resourceVersion"),
        resource_version_match=params.get("resourceVersionMatch"),
    )


def _parse_object(content_type: str, body: bytes) -> dict:
    try:
        obj = yaml.safe_load(body) if "yaml" in content_type else json.loads(body or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the request body could not be decoded: {exc}") from exc
    if not isinstance(obj, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return obj
