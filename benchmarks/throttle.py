"""Emulated S3 on loopback: a TCP proxy that limits each connection to RATE bytes/s and delays each answer.

S3 gives one connection tens of MB/s and answers a request after a few tens of milliseconds; a local server
gives one connection hundreds of MB/s at once. This proxy makes the local server behave like S3 per
connection, so the benchmark shows what parallel ranged GETs are worth there. Run as a process::

    python benchmarks/throttle.py --upstream 127.0.0.1:9000 --rate 40e6 --latency 0.02

It prints the port it listens on (on 127.0.0.1), then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import time

PIECE = 64 * 1024


async def _pipe_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, bool]) -> None:
    """Client to server: as is; each request makes the next answer wait for the first-byte latency."""
    try:
        while data := await reader.read(PIECE):
            state["new_request"] = True
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _pipe_down(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, bool], rate: float, latency: float
) -> None:
    """Server to client: at most ``rate`` bytes/s, and ``latency`` s before the first byte of each answer."""
    sent, started = 0, time.monotonic()
    try:
        while data := await reader.read(PIECE):
            if state.pop("new_request", False):
                await asyncio.sleep(latency)
                sent, started = 0, time.monotonic()
            sent += len(data)
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def serve(upstream: tuple[str, int], rate: float, latency: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*upstream)
        except OSError:
            client_writer.close()
            return
        state: dict[str, bool] = {}
        await asyncio.gather(
            _pipe_up(client_reader, server_writer, state),
            _pipe_down(server_reader, client_writer, state, rate, latency),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=PIECE * 4)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="host:port of the S3 server")
    parser.add_argument("--rate", type=float, default=40e6, help="bytes per second per connection")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds before the first byte of an answer")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    asyncio.run(serve((host, int(port)), args.rate, args.latency))


if __name__ == "__main__":
    main()
