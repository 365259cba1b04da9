"""The one downloader: every package file, sdist and interpreter mfci fetches from an
index, a channel or a mirror comes through here.

- http and https only (a local channel's or find-links' file:// only where the caller
  allows it: the warm that was configured with it);
- credentials chosen per URL by `auth.Credentials`, redirects followed by hand, so a
  redirect to another host (a CDN, an object store) never receives them;
- retries with backoff on connection errors, timeouts, 429 and 5xx, and on a body cut
  short of its Content-Length, then one error naming the file;
- a size cap (the record's size when known) and an overall deadline per file;
- TLS certificates checked, except on the hosts an environment file marks --trusted-host.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from ..auth import Credentials
from ..errors import WorkError
from ..secrets import scrub, scrub_text

CHUNK = 1 << 20
ATTEMPTS = 4
CONNECT_SECONDS = 15
READ_SECONDS = 60
DEADLINE_SECONDS = 3600
MAX_REDIRECTS = 10
# A file of unknown size may be at most this large (a cap against a server that never ends).
UNKNOWN_SIZE_CAP = 16 << 30


class DownloadFailed(WorkError):
    """A file could not be fetched whole; the message names it and says why."""


class _Retry(Exception):
    """A transient failure: try again after a pause."""


class Downloader:
    def __init__(self, credentials: Credentials | None = None, *, allow_local_files: bool = False,
                 attempts: int = ATTEMPTS, connect_seconds: float = CONNECT_SECONDS,
                 read_seconds: float = READ_SECONDS, deadline_seconds: float = DEADLINE_SECONDS,
                 insecure_hosts: tuple[str, ...] = ()):
        self.credentials = credentials or Credentials()
        self.insecure_hosts = frozenset(insecure_hosts)
        self.allow_local_files = allow_local_files
        self.attempts = attempts
        self.connect_seconds = connect_seconds
        self.read_seconds = read_seconds
        self.deadline_seconds = deadline_seconds
        self._pools: dict[bool, object] = {}
        self._guard = threading.Lock()

    def _manager(self, url: str):
        # urllib3 is imported on first use: a remote bootstrap may never need it.
        insecure = urlsplit(url).hostname in self.insecure_hosts
        with self._guard:
            if insecure not in self._pools:
                import urllib3

                if insecure:  # the user said so (--trusted-host): no warning on every request
                    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                self._pools[insecure] = urllib3.PoolManager(
                    num_pools=32, maxsize=16, retries=False, **({"cert_reqs": "CERT_NONE"} if insecure else {}),
                    timeout=urllib3.Timeout(connect=self.connect_seconds, read=self.read_seconds))
            return self._pools[insecure]

    def fetch(self, url: str, destination: Path, size: int | None = None, name: str | None = None) -> None:
        """Write the file at `url` to `destination`, whole, or raise DownloadFailed."""
        name = name or unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or url
        where = scrub(url)
        scheme = urlsplit(url).scheme
        if scheme == "file":
            if not self.allow_local_files:
                raise DownloadFailed(f"cannot download {name}: {where} is a local file, not allowed here")
            return self._copy_local(url, destination, size, name)
        if scheme not in ("http", "https"):
            raise DownloadFailed(f"cannot download {name} from {where}: only http and https are supported")
        deadline = time.monotonic() + self.deadline_seconds
        cap = size if size is not None else UNKNOWN_SIZE_CAP
        for attempt in range(self.attempts):
            try:
                self._get(url, destination, cap, size, deadline, name)
                return
            except _Retry as problem:
                if attempt == self.attempts - 1 or time.monotonic() >= deadline:
                    raise DownloadFailed(f"cannot download {name} from {where}: {problem} "
                                         f"(after {attempt + 1} attempts)") from None
                time.sleep(min(0.5 * 2**attempt, 10) * (0.5 + random.random()))

    def _get(self, url: str, destination: Path, cap: int, size: int | None, deadline: float, name: str) -> None:
        import urllib3

        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target, headers = self.credentials.request(current)
            headers = {"User-Agent": "mfci", "Accept-Encoding": "identity", **headers}
            try:
                response = self._manager(target).request("GET", target, headers=headers, redirect=False,
                                                   preload_content=False)
            except urllib3.exceptions.HTTPError as error:
                raise _Retry(_reason(error)) from None
            try:
                if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                    current = urljoin(current, response.headers["Location"])
                    if urlsplit(current).scheme not in ("http", "https"):
                        raise DownloadFailed(f"cannot download {name}: redirected to a non-http URL")
                    continue
                if response.status == 429 or response.status >= 500:
                    raise _Retry(f"HTTP {response.status}")
                if response.status != 200:
                    hint = " (check the index or channel credentials)" if response.status in (401, 403) else ""
                    raise DownloadFailed(f"cannot download {name} from {scrub(url)}: HTTP {response.status}{hint}")
                self._save(response, destination, cap, size, deadline)
                return
            finally:
                response.release_conn()
        raise DownloadFailed(f"cannot download {name} from {scrub(url)}: more than {MAX_REDIRECTS} redirects")

    def _save(self, response, destination: Path, cap: int, size: int | None, deadline: float) -> None:
        import urllib3

        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None and expected > cap:
            raise DownloadFailed(f"the server sends {expected} bytes, more than the {cap} expected")
        received = 0
        try:
            with open(destination, "wb") as out:
                for chunk in response.stream(CHUNK):
                    received += len(chunk)
                    if received > cap:
                        raise DownloadFailed(f"the server sent more than the {cap} bytes expected")
                    if time.monotonic() > deadline:
                        raise DownloadFailed(f"still incomplete after {self.deadline_seconds:.0f}s")
                    out.write(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if isinstance(error, OSError) and not isinstance(error, (ConnectionError, TimeoutError)):
                raise DownloadFailed(f"cannot write {destination}: {error}") from None
            raise _Retry(_reason(error)) from None
        if expected is not None and received != expected:
            raise _Retry(f"the body ended after {received} of {expected} bytes")
        if size is not None and received != size:
            raise _Retry(f"received {received} bytes, the record says {size}")

    def _copy_local(self, url: str, destination: Path, size: int | None, name: str) -> None:
        source = Path(unquote(urlsplit(url).path))
        try:
            if not source.is_file():
                raise DownloadFailed(f"cannot download {name}: {source} is missing")
            if size is not None and source.stat().st_size != size:
                raise DownloadFailed(f"cannot download {name}: {source} has {source.stat().st_size} bytes, "
                                     f"the record says {size}")
            shutil.copyfile(source, destination)
        except OSError as error:
            raise DownloadFailed(f"cannot download {name} from {source}: {error.strerror}") from None


def _reason(error: Exception) -> str:
    return scrub_text(" ".join(str(getattr(error, "reason", None) or error).split()))[:300]
