"""A store in a Google Cloud Storage bucket (google-cloud-storage): `gs://bucket/prefix`.

Credentials are Google's application default credentials (GOOGLE_APPLICATION_CREDENTIALS,
gcloud, the metadata server); STORAGE_EMULATOR_HOST points the client at an emulator.
Create-only writes use if_generation_match=0, compare-and-swap the generation read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import UsageError
from .base import Entry, StoreSettings, Versioned
from .cloud import (
    ABSENT,
    ATTEMPTS,
    BACKOFF_MAX_SECONDS,
    MULTIPART_THRESHOLD,
    Absent,
    CloudStore,
    Failure,
    missing_sdk,
)


class _BucketMissing(Exception):
    """A write answered 404: GCS says that only when the bucket is missing."""


class GCSStore(CloudStore):
    scheme = "gs"

    def __init__(self, url: str, settings: StoreSettings):
        super().__init__(url, settings)
        try:
            import google.auth.exceptions
            from google.cloud import storage
            from google.cloud.storage.retry import DEFAULT_RETRY
        except ImportError:
            raise missing_sdk(url, "google-cloud-storage", "gcs") from None
        try:
            client = storage.Client()
        except google.auth.exceptions.GoogleAuthError as error:
            raise UsageError(f"store root {url}: no usable Google credentials ({error})") from None
        self.client = client
        self.bucket_handle = client.bucket(self.bucket)
        # Every write is conditional, so every request is safe to retry. The SDK bounds
        # retries by time, not count: about ATTEMPTS requests' worth.
        self.retry = DEFAULT_RETRY.with_delay(initial=0.5, maximum=BACKOFF_MAX_SECONDS).with_timeout(
            ATTEMPTS * settings.timeout)
        self.timeout = (settings.timeout, settings.timeout)  # (connect, read) of each request

    def _get(self, name: str) -> Versioned:
        blob = self.bucket_handle.blob(name)
        data = blob.download_as_bytes(retry=self.retry, timeout=self.timeout)
        return Versioned(data, str(blob.generation))

    def _head(self, name: str) -> bool:
        return self.bucket_handle.blob(name).exists(retry=self.retry, timeout=self.timeout)

    def _writing(self, write) -> None:
        from google.api_core.exceptions import NotFound

        try:
            write()
        except NotFound as error:
            raise _BucketMissing(str(error)) from error

    def _put(self, name: str, data: bytes, version: str | Absent) -> None:
        generation = 0 if version is ABSENT else int(version)
        blob = self.bucket_handle.blob(name)
        self._writing(lambda: blob.upload_from_string(data, if_generation_match=generation,
                                                            retry=self.retry, timeout=self.timeout))

    def _upload(self, name: str, path: Path) -> None:
        # A chunk size makes large files resumable uploads sent (and retried) in parts.
        blob = self.bucket_handle.blob(name, chunk_size=MULTIPART_THRESHOLD)
        self._writing(lambda: blob.upload_from_filename(str(path), if_generation_match=0,
                                                              retry=self.retry, timeout=self.timeout))

    def _download(self, name: str, destination: Path) -> None:
        self.bucket_handle.blob(name).download_to_filename(str(destination), retry=self.retry,
                                                         timeout=self.timeout)

    def _entries(self, prefix: str) -> Iterator[Entry]:
        for blob in self.client.list_blobs(self.bucket, prefix=prefix, retry=self.retry, timeout=self.timeout):
            yield Entry(blob.name, blob.size or 0, blob.updated)

    def _remove(self, name: str) -> None:
        self.bucket_handle.blob(name).delete(retry=self.retry, timeout=self.timeout)

    def _failure(self, error: Exception) -> Failure | None:
        import google.auth.exceptions
        import requests
        from google.api_core import exceptions as api

        if isinstance(error, _BucketMissing):
            return Failure.NO_BUCKET
        if isinstance(error, api.NotFound):
            return Failure.NO_BUCKET if "bucket does not exist" in str(error).lower() else Failure.MISSING
        if isinstance(error, api.PreconditionFailed):
            return Failure.CONFLICT
        if isinstance(error, (api.Forbidden, api.Unauthorized, google.auth.exceptions.GoogleAuthError)):
            return Failure.DENIED
        if isinstance(error, (api.GoogleAPIError, requests.RequestException)):
            return Failure.FAILED
        return None

    def _create_hint(self) -> str:
        return f"gcloud storage buckets create gs://{self.bucket}"
