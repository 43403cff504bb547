"""A tiny HTTP backend for load-balancing tests: answers with its name and counts what it served.

Run as its own process (`python -m loadtests.backend NAME PORT [--delay-ms N] [--health-status N]`) so a
test can SIGKILL it like a crashed server. `GET /__hits` returns how many requests it has served (not
counting itself); every other path answers 200 with `X-Backend: NAME`. Keep-alive is supported because the
load balancer keeps upstream connections open. `GET /__health_hits` counts the health-check requests
(`/__health`); after `GET /__hang` it keeps accepting connections but never answers any other path again,
like a deadlocked server. `GET /__status/<code>` is served (and counted) like any path, with that status.
"""

from __future__ import annotations

import argparse
import asyncio


class Backend:
    def __init__(self, name: str, delay_ms: int, health_status: int) -> None:
        self.name, self.delay, self.health_status = name, delay_ms / 1000, health_status
        self.hits = self.health_hits = 0
        self.hanging = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if length:
                    await reader.readexactly(length)
                writer.write(await self.respond(method, path))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def respond(self, method: str, path: str) -> bytes:
        status = 200
        if path == "/__hits":
            body = str(self.hits)
        elif path == "/__health_hits":
            body = str(self.health_hits)
        elif path == "/__hang":
            self.hanging, body = True, "hanging from now on"
        elif self.hanging:
            # Counted on arrival, so a test can see whether requests still reach a hanging server.
            if path == "/__health":
                self.health_hits += 1
            else:
                self.hits += 1
            await asyncio.Event().wait()
        elif path == "/__health":
            self.health_hits += 1
            status, body = self.health_status, "health"
        else:
            self.hits += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            body = f"{self.name} {method} {path}"
            if path.startswith("/__status/") and path[10:].isdigit():
                status = int(path[10:])  # a served request that fails: /__status/500 answers 500
        data = body.encode()
        return (
            f"HTTP/1.1 {status} X\r\nX-Backend: {self.name}\r\nContent-Length: {len(data)}\r\n"
            "Content-Type: text/plain\r\n\r\n"
        ).encode() + data


async def serve(name: str, port: int, delay_ms: int, health_status: int) -> None:
    backend = Backend(name, delay_ms, health_status)
    server = await asyncio.start_server(backend.handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("port", type=int)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--health-status", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(serve(args.name, args.port, args.delay_ms, args.health_status))


if __name__ == "__main__":
    main()
