"""One comment on a pull request, kept up to date: found again by a hidden marker in its
body and edited in place, else created, through GitHub's REST API.

Everything comes from the variables GitHub Actions sets (GITHUB_TOKEN as the workflow passes
it, GITHUB_REPOSITORY, GITHUB_EVENT_PATH for the pull request's number, GITHUB_API_URL,
which tests point at a loopback server). A failure is a CommentFailed whose message is one
line saying what GitHub answered; the caller turns it into a warning."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import WorkError
from .io.files import read_json_file
from .secrets import register

API_URL = "https://api.github.com"
PAGE = 100
BODY_LIMIT = 65_000   # GitHub refuses comments over 65,536 characters
SECONDS = 30


class CommentFailed(WorkError):
    """The comment could not be read, made or updated; the message says why."""


@dataclass(frozen=True)
class PullRequest:
    api: str
    repository: str    # owner/name
    number: int
    token: str = ""

    @classmethod
    def from_environ(cls, environ) -> "PullRequest":
        """The pull request the workflow runs for; CommentFailed naming what is missing."""
        token = environ.get("GITHUB_TOKEN", "").strip()
        repository = environ.get("GITHUB_REPOSITORY", "").strip()
        event = read_json_file(Path(environ["GITHUB_EVENT_PATH"])) if environ.get("GITHUB_EVENT_PATH") else None
        pull = event.get("pull_request") if isinstance(event, dict) else None
        number = pull.get("number") if isinstance(pull, dict) else None
        missing = [name for name, value in (("GITHUB_TOKEN", token), ("GITHUB_REPOSITORY", repository)) if not value]
        if missing:
            raise CommentFailed(f"{' and '.join(missing)} not set")
        if not isinstance(number, int):
            raise CommentFailed("not a pull request (GITHUB_EVENT_PATH names no pull_request event)")
        register(token)
        return cls((environ.get("GITHUB_API_URL") or API_URL).rstrip("/"), repository, number, token)

    def __str__(self) -> str:
        return f"{self.repository}#{self.number}"


def keep_comment(pull: PullRequest, body: str, marker: str) -> str:
    """Make the pull request's comment holding `marker` say `body` (which holds it too):
    edited in place when there is one, else created. Returns "updated", "created" or
    "unchanged"."""
    body = _fitted(body)
    client = _Client(pull)
    comments = f"/repos/{pull.repository}/issues/{pull.number}/comments"
    page = 1
    while True:
        listed = client.request("GET", f"{comments}?per_page={PAGE}&page={page}")
        if not isinstance(listed, list):
            raise CommentFailed(f"listing the comments of {pull}: unexpected answer")
        mine = next((c for c in listed if isinstance(c, dict) and marker in str(c.get("body", ""))), None)
        if mine is not None:
            if mine.get("body") == body:
                return "unchanged"
            client.request("PATCH", f"/repos/{pull.repository}/issues/comments/{mine['id']}", {"body": body})
            return "updated"
        if len(listed) < PAGE:
            break
        page += 1
    client.request("POST", comments, {"body": body})
    return "created"


def _fitted(body: str) -> str:
    if len(body) <= BODY_LIMIT:
        return body
    cut = body.rfind("\n", 0, BODY_LIMIT - 200)
    return body[:cut] + "\n\n… (cut short: the job summary has the whole diff)\n"


class _Client:
    def __init__(self, pull: PullRequest):
        import urllib3

        self.pull = pull
        self.pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=SECONDS, read=SECONDS),
                                        retries=urllib3.Retry(total=3, connect=3, read=2, backoff_factor=0.5,
                                                              status_forcelist=(502, 503, 504),
                                                              allowed_methods=("GET",), raise_on_status=False))
        self.headers = {"Authorization": f"Bearer {pull.token}", "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "mfci"}

    def request(self, method: str, path: str, data: dict | None = None):
        import urllib3

        headers = dict(self.headers, **({"Content-Type": "application/json"} if data is not None else {}))
        try:
            response = self.pool.request(method, self.pull.api + path, headers=headers,
                                         body=json.dumps(data).encode() if data is not None else None)
        except urllib3.exceptions.HTTPError as error:
            raise CommentFailed(f"{method} {self.pull.api}{path.split('?')[0]}: {type(error).__name__}") from None
        if response.status >= 300:
            try:
                said = json.loads(response.data).get("message", "")
            except (ValueError, AttributeError):
                said = ""
            hint = "; the token needs `pull-requests: write`" if response.status in (401, 403, 404) else ""
            raise CommentFailed(f"GitHub answered {response.status}" + (f" ({said})" if said else "")
                                + f" to {method} {path.split('?')[0]}{hint}")
        return json.loads(response.data) if response.data else None
