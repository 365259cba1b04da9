"""The homes of side effects: the process runner and the downloader, against real processes
and loopback servers that misbehave on purpose."""

import contextlib
import hashlib
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mfci.auth import Credentials
from mfci.io.http import Downloader, DownloadFailed
from mfci.io.process import ToolFailed, run

BODY = b"wheel bytes " * 1000


def test_a_timeout_kills_the_whole_group_and_says_so(tmp_path):
    marker = tmp_path / "child-alive"
    child = tmp_path / "child.py"
    child.write_text(f"import time\ntime.sleep(3)\nopen({str(marker)!r}, 'w').write('x')\n")
    parent = tmp_path / "parent.py"
    parent.write_text(f"import subprocess, time\nsubprocess.Popen([{sys.executable!r}, {str(child)!r}])\n"
                      "time.sleep(60)\n")
    with pytest.raises(ToolFailed, match="did not finish within 1s"):
        run([sys.executable, str(parent)], timeout=1, what="sleeping")
    time.sleep(4)
    assert not marker.exists()  # the grandchild went with its group


def test_a_detached_helper_holding_the_output_does_not_hold_the_caller(tmp_path):
    # A flow that starts a daemon in its own session, which keeps stdout and stderr open.
    script = (f"import subprocess; subprocess.Popen([{sys.executable!r}, '-c', 'import time; time.sleep(30)'], "
              "start_new_session=True); print('done')")
    started = time.monotonic()
    done = run([sys.executable, "-c", script], timeout=20, what="a flow")
    assert done.ok and done.stdout.strip() == "done" and time.monotonic() - started < 15


def test_the_tools_own_error_text_is_kept_whole_and_scrubbed():
    chain = "\n".join(["error: No solution found", *(f"  ╰─▶ because step {n} needs more" for n in range(60)),
                       "  and https://bob:s3cret-pw@idx.example.com/simple said so"])
    done = run([sys.executable, "-c", f"import sys; sys.stderr.write({chain!r}); sys.exit(1)"], timeout=20, what="x")
    text = done.error_text()
    assert "because step 0 needs" in text and "because step 59 needs" in text and "\n" not in text
    assert "s3cret-pw" not in text and "https://idx.example.com/simple" in text


class Recorder(BaseHTTPRequestHandler):
    """A loopback server whose behaviour each test sets: auth, redirects, short bodies, 503s."""

    protocol_version = "HTTP/1.1"
    behaviour: dict = {}
    seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.seen.append((self.server.server_address[1], self.path, self.headers.get("Authorization")))
        plan = self.behaviour.get(self.path, {"body": BODY})
        if plan.get("status"):
            self.send_response(plan["status"])
            self.send_header("Content-Length", "0")
            if plan.get("location"):
                self.send_header("Location", plan["location"])
            self.end_headers()
            return
        if plan.get("auth") and self.headers.get("Authorization") != plan["auth"]:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = plan["body"]
        self.send_response(200)
        self.send_header("Content-Length", str(plan.get("claimed", len(body))))
        self.end_headers()
        self.wfile.write(body)
        if plan.get("claimed"):
            self.close_connection = True


@contextlib.contextmanager
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def servers():
    Recorder.behaviour, Recorder.seen = {}, []
    with server() as index, server() as cdn:
        yield index, cdn


def test_credentials_never_follow_a_redirect_to_another_host(servers, tmp_path):
    index, cdn = servers
    Recorder.behaviour = {"/files/six.whl": {"status": 302, "location": f"{cdn}/blob/six.whl"}}
    credentials = Credentials.of([index.replace("http://", "http://user:TOPSECRET@") + "/simple"])
    Downloader(credentials).fetch(f"{index}/files/six.whl", tmp_path / "six.whl", len(BODY))
    assert (tmp_path / "six.whl").read_bytes() == BODY
    index_port, cdn_port = int(index.rsplit(":", 1)[1]), int(cdn.rsplit(":", 1)[1])
    assert [auth is not None for port, _, auth in Recorder.seen if port == index_port] == [True]
    assert [auth for port, _, auth in Recorder.seen if port == cdn_port] == [None]


def test_a_truncated_body_is_retried_then_one_error_naming_the_file(servers, tmp_path):
    index, _ = servers
    Recorder.behaviour = {"/short.whl": {"body": BODY[:100], "claimed": len(BODY)}}
    with pytest.raises(DownloadFailed) as failed:
        Downloader(attempts=3).fetch(f"{index}/short.whl", tmp_path / "short.whl")
    assert "short.whl" in str(failed.value) and "after 3 attempts" in str(failed.value)
    assert len([path for _, path, _ in Recorder.seen if path == "/short.whl"]) == 3


def test_more_bytes_than_the_record_says_are_refused(servers, tmp_path):
    index, _ = servers
    with pytest.raises(DownloadFailed, match="more than the 10"):
        Downloader().fetch(f"{index}/big.whl", tmp_path / "big.whl", size=10)


def test_server_errors_are_retried_and_client_errors_are_not(servers, tmp_path):
    index, _ = servers
    Recorder.behaviour = {"/flaky.whl": {"status": 503}, "/gone.whl": {"status": 404}}
    with pytest.raises(DownloadFailed, match="HTTP 503"):
        Downloader(attempts=2).fetch(f"{index}/flaky.whl", tmp_path / "x")
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        Downloader(attempts=2).fetch(f"{index}/gone.whl", tmp_path / "x")
    paths = [path for _, path, _ in Recorder.seen]
    assert paths.count("/flaky.whl") == 2 and paths.count("/gone.whl") == 1


@pytest.mark.parametrize("url", ["ftp://host/x.whl", "file:///etc/passwd"])
def test_only_http_and_https_unless_local_files_are_allowed(url, tmp_path):
    with pytest.raises(DownloadFailed):
        Downloader().fetch(url, tmp_path / "x")


def test_a_local_file_is_copied_where_allowed(tmp_path):
    source = tmp_path / "a.whl"
    source.write_bytes(BODY)
    Downloader(allow_local_files=True).fetch(source.as_uri(), tmp_path / "b.whl", len(BODY))
    assert hashlib.sha256((tmp_path / "b.whl").read_bytes()).digest() == hashlib.sha256(BODY).digest()
