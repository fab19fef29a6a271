"""A database across a network, on one machine: a TCP proxy in front of PostgreSQL that holds every
chunk it forwards, either way, for --delay-ms before passing it on (in order), so that each statement's
round trip costs what it costs between two hosts. Point a benchmark at it with KAMENG_BENCH_PG:

    .venv/bin/python bench/slow_link.py --listen 5433 --delay-ms 0.5 &
    KAMENG_BENCH_PG=postgresql://postgres@127.0.0.1:5433/postgres .venv/bin/python bench/refunds.py --concurrency 1

The event loop waits in whole milliseconds (epoll), so a delay under 1 ms is held up to the next one:
the round trip it adds is measured and printed at start (a SELECT 1 through the proxy and directly).
"""

import argparse
import asyncio
import time


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader to writer, each chunk `delay` seconds after it arrived, in arrival order."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    loop = asyncio.get_running_loop()
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, chunk))
    finally:
        queue.put_nowait((0.0, b""))
        await sender


async def serve(listen: int, upstream: tuple[str, int], delay: float) -> None:
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, server_writer, delay), pipe(server_reader, client_writer, delay), return_exceptions=True
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


def round_trip_ms(port: int, count: int = 200) -> float:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        conn.execute("SELECT 1")
        start = time.perf_counter()
        for _ in range(count):
            conn.execute("SELECT 1")
        return (time.perf_counter() - start) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, default=5433)
    parser.add_argument("--upstream", default="127.0.0.1:5432")
    parser.add_argument("--delay-ms", type=float, default=0.5, help="each way")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)

    async def run() -> None:
        task = asyncio.create_task(serve(args.listen, (host, int(port)), args.delay_ms / 1000))
        await asyncio.sleep(0.2)
        direct = await asyncio.to_thread(round_trip_ms, int(port))
        proxied = await asyncio.to_thread(round_trip_ms, args.listen)
        print(f"SELECT 1 round trip: {direct:.2f} ms direct, {proxied:.2f} ms through the proxy", flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
