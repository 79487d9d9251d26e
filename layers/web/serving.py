"""The production server's worker: gunicorn's processes, waitress's request reading.

gunicorn's own threaded worker hands a connection to a thread as soon as its first
bytes arrive, and the thread then reads the rest on a blocking socket: a few clients
that send half a header, or a body one byte at a time, hold every thread and the
service stops answering (issue "Hardening, round two"). waitress reads each request
whole — headers and body, the body spooled to a temporary file past 512 KB — in one
event loop, and only a complete request reaches a thread. `WaitressWorker` runs
waitress inside each gunicorn worker, on the socket gunicorn bound, so the rest stays
as it was: the app is built once in the master (`preload_app`) and forked, workers
are restarted when they die, `SIGTERM` stops them gracefully.

Slow clients are dropped:
- a connection that sends nothing for `IDLE_TIMEOUT_S` seconds (waitress's
  `channel_timeout`), whether it is between requests or in the middle of one;
- a request whose headers are not complete `HEADER_TIMEOUT_S` seconds after its first
  byte, or whose body arrives slower than `MIN_BODY_RATE` bytes a second on average
  (after the headers' allowance: an honest phone on a poor network sends far faster).

`make run` and `python server.py` both serve through it (gunicorn.conf.py).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.workers.base import Worker
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask
from waitress.wasyncore import close_all

IDLE_TIMEOUT_S = 20
HEADER_TIMEOUT_S = 10
MIN_BODY_RATE = 4096  # bytes a second, averaged over the body so far
HEARTBEAT_S = 1.0


# What waitress itself refuses, before the app sees a request (a malformed chunk, headers
# too large ...): answered as the app answers, JSON with a Chinese message.
REFUSALS = {
    400: "请求格式错误",
    413: "请求内容过大",
    431: "请求头过大",
    500: "服务器内部错误",
    501: "不支持的请求方式",
}


class ChineseErrorTask(ErrorTask):
    """waitress's own refusal as `{"ok": false, "error": ..., "status": ...}`."""

    def execute(self) -> None:
        error = self.request.error
        message = (f"{REFUSALS.get(error.code, '请求无法处理')} "
                   f"({error.reason}: {str(error.body).strip()})")
        body = json.dumps({"ok": False, "error": message, "status": error.code},
                          ensure_ascii=False).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class DeadlineChannel(HTTPChannel):
    """A waitress channel that drops a request arriving too slowly (see the module), and
    answers waitress's own refusals in Chinese."""

    error_task_class = ChineseErrorTask

    started: float | None = None  # when the request being read began to arrive

    def received(self, data: bytes) -> bool:
        request = self.request
        now = time.monotonic()
        if request is None:
            self.started = now
        elif self.started is not None and _too_slow(request, now - self.started):
            self.will_close = True  # closed by the loop; nothing reaches a thread
            return False
        return bool(super().received(data))


def _too_slow(request: Any, elapsed: float) -> bool:
    """Whether a request `elapsed` seconds after its first byte arrives too slowly."""
    if not request.headers_finished:
        return elapsed > HEADER_TIMEOUT_S
    body = request.body_rcv  # len(): the body's bytes received so far
    allowance = elapsed - HEADER_TIMEOUT_S
    return body is not None and allowance > 0 and len(body) < MIN_BODY_RATE * allowance


class WaitressWorker(Worker):
    """A gunicorn worker that serves with waitress (settings: `threads` are waitress's
    threads, `worker_connections` its connection limit, `limit_request_*` its header
    limits; `timeout` only bounds how long the worker may stop answering its master)."""

    alive: bool  # gunicorn's: False once the master asks the worker to stop

    def run(self) -> None:
        app = _access_logged(self.wsgi, self.log) if self.cfg.accesslog else self.wsgi
        channels: dict[int, Any] = {}  # waitress's map: the listeners and connections
        server = create_server(
            app,
            map=channels,
            asyncore_use_poll=True,  # select() stops at 1,024 descriptors
            sockets=[listener.sock for listener in self.sockets],
            threads=self.cfg.threads,
            connection_limit=self.cfg.worker_connections,
            channel_timeout=IDLE_TIMEOUT_S,
            cleanup_interval=min(IDLE_TIMEOUT_S, 5),
            max_request_header_size=self.cfg.limit_request_line
            + self.cfg.limit_request_fields * self.cfg.limit_request_field_size,
            ident="",
            expose_tracebacks=False,
            log_socket_errors=False,
        )
        listeners = [d for d in channels.values() if isinstance(d, BaseWSGIServer)]
        for listener in listeners:
            listener.channel_class = DeadlineChannel
        threading.Thread(target=self._heartbeat, args=(server, listeners[0], channels),
                         daemon=True).start()
        server.run()

    def _heartbeat(self, server: Any, listener: BaseWSGIServer, channels: dict[int, Any]
                   ) -> None:
        """Tell the master this worker lives; stop waitress when gunicorn says so."""
        while self.alive:
            if os.getppid() != self.ppid:  # the master is gone
                self.alive = False
                break
            self.notify()
            time.sleep(HEARTBEAT_S)
        # In the loop's own thread: close every connection, and the loop ends.
        listener.trigger.pull_trigger(lambda: close_all(channels))
        server.task_dispatcher.shutdown(timeout=self.cfg.graceful_timeout)


def _access_logged(app: Callable[..., Any], log: Any) -> Callable[..., Any]:
    """The app, with one access-log line per request in gunicorn.conf.py's format
    (`%(h)s "%(r)s" %(s)s %(b)s %(M)sms`), written to gunicorn's access log."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        began = time.monotonic()
        status = ["-"]

        def start(code: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, *exc)

        body = app(environ, start)
        sent = 0
        try:
            for chunk in body:
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            query = environ.get("QUERY_STRING")
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            log.access_log.info(
                f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD")} {target} '
                f'{environ.get("SERVER_PROTOCOL")}" {status[0]} {sent} '
                f"{int((time.monotonic() - began) * 1000)}ms")

    return logged
