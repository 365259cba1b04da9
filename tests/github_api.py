"""A loopback stand-in for the part of GitHub's REST API a pull-request comment uses:
list an issue's comments (paged), create one, edit one. A token can be made read-only, as
a fork's pull request gets it: reads work, writes answer 403 as GitHub does."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIST = re.compile(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments")
EDIT = re.compile(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)")


class GitHubAPI:
    def __init__(self, token: str):
        self.token = token
        self.read_only = False
        self.comments: list[dict] = []     # {id, issue, body, user}
        self.requests: list[tuple[str, str]] = []
        self.url = ""

    def answer(self, method: str, path: str, authorization: str | None, body: bytes) -> tuple[int, object]:
        self.requests.append((method, path))
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}
        route, _, query = path.partition("?")
        listing, editing = LIST.fullmatch(route), EDIT.fullmatch(route)
        if method == "GET" and listing:
            params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            per_page, page = int(params.get("per_page", 30)), int(params.get("page", 1))
            theirs = [c for c in self.comments if c["issue"] == int(listing[2])]
            return 200, theirs[(page - 1) * per_page:page * per_page]
        if method in ("POST", "PATCH") and (listing or editing):
            if self.read_only:
                return 403, {"message": "Resource not accessible by integration"}
            text = json.loads(body)["body"]
            if listing:
                comment = {"id": 1000 + len(self.comments), "issue": int(listing[2]), "body": text,
                           "user": {"login": "github-actions[bot]"}}
                self.comments.append(comment)
                return 201, comment
            comment = next((c for c in self.comments if c["id"] == int(editing[2])), None)
            if comment is None:
                return 404, {"message": "Not Found"}
            comment["body"] = text
            return 200, comment
        return 404, {"message": "Not Found"}


@contextlib.contextmanager
def github_api(token: str = "ghs_loopbacktoken1234"):
    """A GitHubAPI served on 127.0.0.1 for the time of the block (its `url` set)."""
    api = GitHubAPI(token)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            status, data = api.answer(self.command, self.path, self.headers.get("Authorization"),
                                      self.rfile.read(length) if length else b"")
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
