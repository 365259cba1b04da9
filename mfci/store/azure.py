"""A store in an Azure Blob container (azure-storage-blob): `azure://container/prefix`.

The account comes from AZURE_STORAGE_CONNECTION_STRING, else from
METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT with DefaultAzureCredential (as Metaflow's
Azure datastore does). Create-only writes use overwrite=False (If-None-Match: *),
compare-and-swap the etag read (If-Match).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import UsageError
from .base import Entry, StoreSettings, Versioned
from .cloud import (
    ABSENT,
    ATTEMPTS,
    MULTIPART_THRESHOLD,
    TRANSFER_THREADS,
    Absent,
    CloudStore,
    Failure,
    missing_sdk,
)

SDK = "azure-storage-blob and azure-identity"


class AzureStore(CloudStore):
    scheme = "azure"
    container_word = "container"

    def __init__(self, url: str, settings: StoreSettings):
        super().__init__(url, settings)
        try:
            from azure.storage.blob import BlobServiceClient, ExponentialRetry
        except ImportError:
            raise missing_sdk(url, SDK, "azure") from None
        retries = ATTEMPTS - 1
        options = {
            # waits of about 2.5, 4.5, 8.5 s (initial + base**k), each ±0.5 s of jitter; the
            # SDK counts connect, read and status retries apart: each is capped the same
            "retry_policy": ExponentialRetry(initial_backoff=0.5, increment_base=2, retry_total=retries,
                                             retry_connect=retries, retry_read=retries, retry_status=retries,
                                             random_jitter_range=0.5),
            "connection_timeout": settings.timeout,
            "read_timeout": settings.timeout,
            "max_single_put_size": MULTIPART_THRESHOLD,
            "max_block_size": MULTIPART_THRESHOLD,
        }
        connection = settings.azure_connection_string
        endpoint = settings.azure_endpoint
        if connection:
            try:
                service = BlobServiceClient.from_connection_string(connection, **options)
            except ValueError as error:
                raise UsageError(f"AZURE_STORAGE_CONNECTION_STRING: {error}") from None
        elif endpoint:
            try:
                from azure.identity import DefaultAzureCredential
            except ImportError:
                raise missing_sdk(url, SDK, "azure") from None
            service = BlobServiceClient(str(endpoint), credential=DefaultAzureCredential(), **options)
        else:
            raise UsageError(f"store root {url}: set AZURE_STORAGE_CONNECTION_STRING, or "
                             "METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT to sign in with DefaultAzureCredential")
        self.container = service.get_container_client(self.bucket)

    def _get(self, name: str) -> Versioned:
        downloader = self.container.download_blob(name)
        return Versioned(downloader.readall(), downloader.properties.etag)

    def _head(self, name: str) -> bool:
        return self.container.get_blob_client(name).exists()

    def _put(self, name: str, data: bytes, version: str | Absent) -> None:
        from azure.core import MatchConditions

        if version is ABSENT:
            # overwrite=False is the SDK's If-None-Match: * (etag="*" is refused by the SDK).
            self.container.upload_blob(name, data, overwrite=False)
        else:
            self.container.upload_blob(name, data, overwrite=True, etag=version,
                                       match_condition=MatchConditions.IfNotModified)

    def _upload(self, name: str, path: Path) -> None:
        with open(path, "rb") as source:
            self.container.upload_blob(name, source, length=path.stat().st_size, overwrite=False,
                                       max_concurrency=TRANSFER_THREADS)

    def _download(self, name: str, destination: Path) -> None:
        downloader = self.container.download_blob(name, max_concurrency=TRANSFER_THREADS)
        with open(destination, "wb") as target:
            downloader.readinto(target)

    def _entries(self, prefix: str) -> Iterator[Entry]:
        for blob in self.container.list_blobs(name_starts_with=prefix):
            yield Entry(blob.name, blob.size or 0, blob.last_modified)

    def _remove(self, name: str) -> None:
        self.container.delete_blob(name)

    def object_url(self, key: str) -> str:
        # azure:// is mfci's own spelling; Azure's tools take the blob's https URL.
        return self.container.get_blob_client(self._name(key)).url

    def _failure(self, error: Exception) -> Failure | None:
        from azure.core import exceptions as azure

        if isinstance(error, azure.ResourceNotFoundError):
            return Failure.NO_BUCKET if error.error_code == "ContainerNotFound" else Failure.MISSING
        if isinstance(error, (azure.ResourceExistsError, azure.ResourceModifiedError)):
            return Failure.CONFLICT
        if isinstance(error, azure.ClientAuthenticationError) or getattr(error, "status_code", None) == 403:
            return Failure.DENIED
        if isinstance(error, azure.AzureError):
            return Failure.FAILED
        return None

    def _create_hint(self) -> str:
        return f"az storage container create --name {self.bucket} --account-name <storage-account>"
