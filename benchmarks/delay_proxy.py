"""A TCP proxy that adds a round-trip delay, so that a loopback mail server behaves like one
across a WAN: every chunk is held for half the round trip in each direction, in order.

Latency only (no bandwidth limit, no loss): what an idle poll pays for its round trips — TCP
connect, TLS handshake, greeting, login, SELECT, LOGOUT. Runs in a thread of the benchmark
process; the delay can change between cycles (`proxy.round_trip_ms = 50`).
"""

from __future__ import annotations

import asyncio
import threading
import time


class DelayProxy:
    """Listens on (host, ephemeral port) and forwards to (host, target_port)."""

    def __init__(self, host: str, target_port: int, round_trip_ms: float = 0.0) -> None:
        self.host = host
        self.target_port = target_port
        self.round_trip_ms = round_trip_ms
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def start(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def close(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, self.host, 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _accept(self, client_reader, client_writer) -> None:
        # The connection itself costs a round trip, as a TCP handshake across the WAN would.
        await asyncio.sleep(self.round_trip_ms / 1000)
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.host, self.target_port
            )
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, server_writer),
            self._pipe(server_reader, client_writer),
            return_exceptions=True,
        )

    async def _pipe(self, reader, writer) -> None:
        """Copy one direction, each chunk delivered half a round trip after it arrived."""
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                due = time.monotonic() + self.round_trip_ms / 2000
                await queue.put((due, data or None))
                if not data:
                    break
        except OSError:
            await queue.put((time.monotonic(), None))
        await delivering
