"""Serve the App: ``python -m guardian_app.serve [--host H] [--port P | --fd N]``.

Settings come from ``GUARDIAN_*`` variables (``guardian_app.settings``). The server
is uvicorn with the limits a port that anyone can reach needs; they live
here, and the README, the Dockerfile and the tests all start the App this
way, so none of them runs it without them:

- ``http="h11"`` with a 32 KiB bound on an incomplete request head: a
  larger header is answered 400 and the connection closed. httptools,
  uvicorn's choice when it is installed, keeps whatever header it is sent
  (a 200 MB header cost 290 MB before the 401).
- ``limit_concurrency``: past this many open connections or running
  requests, new requests are answered 503 at once instead of each holding
  memory and a task.
- ``timeout_keep_alive``: an idle kept-alive connection is closed after
  5 s. The App's own ``body_timeout`` bounds a request whose body does not
  come.
- ``timeout_graceful_shutdown``: SIGTERM stops the server within this
  many seconds even while clients keep connections open.
- No access log and no logging config of uvicorn's own: ``guardian_app.logs``
  writes every line, uvicorn's included, as JSON.
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    import uvicorn
    from fastapi import FastAPI

#: h11 refuses a request head (request line and headers) larger than this;
#: GitHub's deliveries send about 1 KiB of headers.
MAX_HEAD_BYTES = 32 * 1024
#: Connections or requests in flight before new requests get a 503. Each
#: request may hold a body of up to 25 MB until its signature is checked,
#: so this also bounds that memory (about 2.5 GB at worst).
MAX_CONCURRENCY = 100
KEEP_ALIVE_SECONDS = 5
SHUTDOWN_SECONDS = 20


def server_options() -> dict[str, object]:
    """The ``uvicorn.Config`` keywords Guardian is served with (besides the app and where to listen)."""
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": MAX_CONCURRENCY,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": SHUTDOWN_SECONDS,
        "access_log": False,
        "log_config": None,
        "lifespan": "on",
        "proxy_headers": True,
    }


def config(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000, fd: int | None = None, log_level: str = "info"
) -> uvicorn.Config:
    import uvicorn

    options = server_options()
    return uvicorn.Config(app, host=host, port=port, fd=fd, log_level=log_level.lower(), **options)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guardian_app.serve", description="Serve the Guardian GitHub App.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--fd", type=int, default=None, help="listen on this already bound socket instead")
    args = parser.parse_args(argv)

    import uvicorn

    from guardian_app.main import create_app
    from guardian_app.settings import SettingsError, from_env

    try:
        settings = from_env()
    except SettingsError as exc:
        print(f"guardian app: refusing to start: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    server = uvicorn.Server(config(app, host=args.host, port=args.port, fd=args.fd, log_level=settings.log_level))
    server.run()
    # uvicorn leaves a failed start-up (a port in use, a lifespan error) to its flag.
    return 0 if server.started else 1


if __name__ == "__main__":
    raise SystemExit(main())
