#!/usr/bin/env python3
"""hello: otto's test and demo application (python3 standard library only).

A threaded HTTP/1.1 server with keep-alive. Every response carries Content-Length and the headers
X-App-Version (the version it serves) and X-App-Host (the machine's host name).

  GET /version   200, body: the version and a newline
  GET /healthz   200 "ok" (503 "failing" with --fail-health)
  GET /          200, a short page naming the version and the host
  GET /slow?s=N  200 after N seconds (N may be fractional)
  anything else  404

Switches (a flag, or the environment variable in brackets; flags win):
  --host H           address to listen on [HOST], default 0.0.0.0
  --port P           port [PORT], default 8080
  --version V        version served [APP_VERSION]; default: the VERSION file beside this script, else 0.0.0
  --slow-start S     sleep S seconds before listening [SLOW_START]
  --fail-health      /healthz answers 503 [FAIL_HEALTH=1]
  --fail-after S     every request answers 500 once S seconds have passed since the server started
                     listening [FAIL_AFTER]
  --ignore-sigterm   SIGTERM is ignored (only SIGKILL ends it) [IGNORE_SIGTERM=1]
  --stop-timeout S   on SIGTERM/SIGINT, wait at most S seconds for requests in flight [STOP_TIMEOUT], default 60
  --access-log       log every request on stderr [ACCESS_LOG=1]

SIGTERM (and SIGINT) stop it gracefully: it stops accepting connections, closes idle keep-alive connections,
finishes the requests in flight (answering them with Connection: close), then exits 0.
"""
import argparse
import http.server
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))


def env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def default_version():
    env = os.environ.get("APP_VERSION")
    if env:
        return env.strip()
    try:
        with open(os.path.join(HERE, "VERSION"), encoding="utf-8") as f:
            text = f.read().strip()
            if text:
                return text
    except OSError:
        pass
    return "0.0.0"


def parse_args(argv):
    p = argparse.ArgumentParser(description="hello: otto's test and demo HTTP application")
    p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.add_argument("--version", default=None)
    p.add_argument("--slow-start", type=float, default=float(os.environ.get("SLOW_START", "0") or 0))
    p.add_argument("--fail-health", action="store_true", default=env_flag("FAIL_HEALTH"))
    fail_after = os.environ.get("FAIL_AFTER")
    p.add_argument("--fail-after", type=float, default=float(fail_after) if fail_after else None)
    p.add_argument("--ignore-sigterm", action="store_true", default=env_flag("IGNORE_SIGTERM"))
    p.add_argument("--stop-timeout", type=float, default=float(os.environ.get("STOP_TIMEOUT", "60") or 60))
    p.add_argument("--access-log", action="store_true", default=env_flag("ACCESS_LOG"))
    args = p.parse_args(argv)
    if args.version is None:
        args.version = default_version()
    return args


def log(message):
    sys.stderr.write("hello[%d]: %s\n" % (os.getpid(), message))
    sys.stderr.flush()


class Connections:
    """The open client connections and whether each is inside a request, so a graceful stop can close the
    idle ones at once and wait for the busy ones."""

    def __init__(self):
        self.cond = threading.Condition()
        self.busy = {}          # handler -> bool
        self.draining = False

    def opened(self, handler):
        with self.cond:
            self.busy[handler] = False
            if self.draining:
                shut_read(handler.connection)

    def closed(self, handler):
        with self.cond:
            self.busy.pop(handler, None)
            self.cond.notify_all()

    def begin(self, handler):
        """A request arrived on handler's connection; returns whether the server is draining."""
        with self.cond:
            self.busy[handler] = True
            return self.draining

    def end(self, handler):
        with self.cond:
            if handler in self.busy:
                self.busy[handler] = False
            if self.draining:
                shut_read(handler.connection)
            self.cond.notify_all()

    def drain(self, timeout):
        """Closes idle connections, then waits up to timeout seconds until every connection has closed."""
        deadline = time.monotonic() + timeout
        with self.cond:
            self.draining = True
            for handler, busy in self.busy.items():
                if not busy:
                    shut_read(handler.connection)
            while self.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return len(self.busy)
                self.cond.wait(min(left, 0.5))
        return 0


def shut_read(sock):
    # The handler's blocking read returns end-of-file, so it closes the connection; writing still works.
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass


def make_handler(config, connections, started):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self):
            return "hello/" + config.version

        def setup(self):
            super().setup()
            connections.opened(self)

        def finish(self):
            try:
                super().finish()
            finally:
                connections.closed(self)

        def handle_one_request(self):
            # Like BaseHTTPRequestHandler's, with the request marked busy between its first line and its answer.
            try:
                self.raw_requestline = self.rfile.readline(65537)
                if len(self.raw_requestline) > 65536:
                    self.requestline = self.request_version = self.command = ""
                    self.send_error(414)
                    return
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                draining = connections.begin(self)
                try:
                    if not self.parse_request():
                        return
                    if draining:
                        self.close_connection = True
                    if self.command in ("GET", "HEAD"):
                        self.answer()
                    else:
                        self.respond(405, "method not allowed\n")
                    self.wfile.flush()
                finally:
                    connections.end(self)
            except (TimeoutError, ConnectionError, BrokenPipeError) as e:
                self.log_error("connection: %r", e)
                self.close_connection = True

        def answer(self):
            url = urllib.parse.urlsplit(self.path)
            if config.fail_after is not None and time.monotonic() - started >= config.fail_after:
                self.respond(500, "failing after %gs\n" % config.fail_after)
            elif url.path == "/version":
                self.respond(200, config.version + "\n")
            elif url.path == "/healthz":
                if config.fail_health:
                    self.respond(503, "failing\n")
                else:
                    self.respond(200, "ok")
            elif url.path == "/":
                page = ("<!doctype html><title>hello %s</title><h1>hello %s</h1><p>served by %s</p>\n"
                        % (config.version, config.version, socket.gethostname()))
                self.respond(200, page, "text/html; charset=utf-8")
            elif url.path == "/slow":
                query = urllib.parse.parse_qs(url.query)
                try:
                    seconds = float(query.get("s", ["1"])[0])
                except ValueError:
                    self.respond(400, "s must be a number of seconds\n")
                    return
                time.sleep(max(0.0, seconds))
                self.respond(200, "slept %gs\n" % seconds)
            else:
                self.respond(404, "not found\n")

        def respond(self, status, text, content_type="text/plain; charset=utf-8"):
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-App-Version", config.version)
            self.send_header("X-App-Host", socket.gethostname())
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def send_error(self, code, message=None, explain=None):
            self.close_connection = True
            self.respond(code, "%d %s\n" % (code, message or self.responses.get(code, ("error",))[0]))

        def log_request(self, code="-", size="-"):
            if config.access_log:
                super().log_request(code, size)

        def log_error(self, format, *args):
            if config.access_log:
                super().log_error(format, *args)

    return Handler


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False

    def server_bind(self):
        # HTTPServer.server_bind also looks up the host's fully qualified name, which can hang on a machine
        # without DNS; the name is not needed.
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]


def main(argv):
    config = parse_args(argv)
    stop = threading.Event()

    def on_stop(signum, frame):
        log("signal %d: stopping gracefully" % signum)
        stop.set()

    if config.ignore_sigterm:
        signal.signal(signal.SIGTERM, lambda signum, frame: log("SIGTERM ignored (--ignore-sigterm)"))
    else:
        signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)

    if config.slow_start > 0:
        log("slow start: listening in %gs" % config.slow_start)
        deadline = time.monotonic() + config.slow_start
        while not stop.is_set() and time.monotonic() < deadline:
            stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        if stop.is_set():
            return 0

    connections = Connections()
    started = time.monotonic()
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    Server.address_family = family
    server = Server((config.host, config.port), make_handler(config, connections, started))
    log("version %s listening on %s:%d" % (config.version, config.host, server.server_address[1]))
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()       # the accept loop ends
    server.socket.close()   # new connections are refused
    left = connections.drain(config.stop_timeout)
    if left:
        log("stopped with %d connection(s) still busy after %gs" % (left, config.stop_timeout))
    else:
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
