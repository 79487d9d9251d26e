"""gunicorn settings: the production server of `make run` and of bench/loadtest.py.

    gunicorn                                   # serve on 127.0.0.1:5000
    gunicorn --bind 0.0.0.0:8080 --workers 4   # flags override these settings

The app is built once, in the master, before the workers are forked
(`preload_app`): the layers are read, validated and indexed once, and the
workers share that memory copy-on-write. No SQLite connection crosses the fork
(every store operation opens its own), and WAL lets the workers read while one
of them writes. Settings of the app itself come from HUAISHU_* variables
(README, Configuration).
"""

import os

wsgi_app = "server:production_app()"
bind = ["127.0.0.1:5000"]
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 2)))  # per core, >= 2
# gunicorn's processes, waitress reading each request whole before a thread takes it, so
# that slow clients cannot hold the threads (layers/web/serving.py: timeouts).
worker_class = "layers.web.serving.WaitressWorker"
threads = 4  # per worker: they overlap a worker's waits on SQLite and the network
worker_connections = 1000  # open connections per worker (slow ones cost no thread)
preload_app = True
timeout = 30  # seconds a worker may stop answering its master before it is replaced
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# No runtime control socket (recent gunicorn makes one at a fixed path in $HOME,
# which servers started side by side, by the tests say, would fight over).
control_socket_disable = True



def on_starting(server):
    """Before the workers are forked: split the host's DATABASE_CONNECTIONS among them
    (each worker's pool opens after the fork with that size); a budget that cannot be
    kept ends the start with a clear message."""
    from layers.stores.opening import ConnectionBudgetError, share_connections

    app = server.app.wsgi()
    try:
        share_connections(app, server.cfg.workers)
    except ConnectionBudgetError as e:
        server.log.error("服务未启动 (the service did not start): %s", e)
        raise SystemExit(2) from None
