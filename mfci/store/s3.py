"""A store in an S3 bucket (boto3): `s3://bucket/prefix`.

Credentials come from the AWS chain (environment, profile, SSO, instance role); the
endpoint from METAFLOW_S3_ENDPOINT_URL, else boto3's own AWS_ENDPOINT_URL(_S3). S3 answers
403 rather than 404 for a missing key when the caller may not list the bucket (the
run-only policy in README): on a read, that 403 is a miss.
Create-only writes send If-None-Match: *, compare-and-swap sends If-Match: <etag>.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .base import Entry, StoreSettings, Versioned
from .cloud import (
    ABSENT,
    ATTEMPTS,
    MULTIPART_THRESHOLD,
    POOL_SIZE,
    TRANSFER_THREADS,
    Absent,
    CloudStore,
    Failure,
    missing_sdk,
)

DENIED_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                "InvalidToken", "InvalidClientTokenId", "AllAccessDisabled"}
# 409 ConditionalRequestConflict: another conditional write of the key was in flight;
# like 412, someone else's write won.
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def _create_only(params: dict, **_) -> None:
    params.setdefault("IfNoneMatch", "*")


class S3Store(CloudStore):
    scheme = "s3"

    def __init__(self, url: str, settings: StoreSettings):
        super().__init__(url, settings)
        try:
            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config
        except ImportError:
            raise missing_sdk(url, "boto3", "s3") from None
        endpoint = settings.s3_endpoint or None
        client_config = Config(retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
                               connect_timeout=settings.timeout, read_timeout=settings.timeout,
                               max_pool_connections=POOL_SIZE)
        session = boto3.session.Session()
        self.client = session.client("s3", endpoint_url=endpoint, config=client_config)
        # boto3's managed (multipart) uploads take no precondition, so they go through a
        # client whose every object write is create-only.
        self.uploads = session.client("s3", endpoint_url=endpoint, config=client_config)
        for operation in ("PutObject", "CompleteMultipartUpload"):
            self.uploads.meta.events.register(f"before-parameter-build.s3.{operation}", _create_only)
        self.transfers = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                                        max_concurrency=TRANSFER_THREADS)

    def _get(self, name: str) -> Versioned:
        response = self.client.get_object(Bucket=self.bucket, Key=name)
        return Versioned(response["Body"].read(), response["ETag"])

    def _head(self, name: str) -> bool:
        self.client.head_object(Bucket=self.bucket, Key=name)
        return True

    def _put(self, name: str, data: bytes, version: str | Absent) -> None:
        condition = {"IfNoneMatch": "*"} if version is ABSENT else {"IfMatch": version}
        self.client.put_object(Bucket=self.bucket, Key=name, Body=data, **condition)

    def _upload(self, name: str, path: Path) -> None:
        self.uploads.upload_file(str(path), self.bucket, name, Config=self.transfers)

    def _download(self, name: str, destination: Path) -> None:
        self.client.download_file(self.bucket, name, str(destination), Config=self.transfers)

    def _entries(self, prefix: str) -> Iterator[Entry]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield Entry(item["Key"], item["Size"], item["LastModified"])

    def _remove(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=name)

    def _failure(self, error: Exception) -> Failure | None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        if isinstance(error, S3UploadFailedError) and isinstance(error.__context__, ClientError):
            error = error.__context__  # boto3 wraps the upload's own error
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                return Failure.NO_BUCKET
            if code in MISSING_CODES:
                return Failure.MISSING
            if code in CONFLICT_CODES or status == 412:
                return Failure.CONFLICT
            if code in DENIED_CODES:
                return Failure.DENIED
            if code in ("AccessDenied", "403") or status == 403:
                return Failure.FORBIDDEN
            return Failure.FAILED
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return Failure.DENIED
        if isinstance(error, (BotoCoreError, S3UploadFailedError)):
            return Failure.FAILED
        return None

    def _create_hint(self) -> str:
        return f"aws s3 mb s3://{self.bucket}"
