"""The evidence bucket on an S3-compatible store, made ready for the app: created if missing,
private, versioned (so that an overwritten or deleted object can be got back from its older
version: docs/deploy.md, "What to back up"). `manage.py prepare_bucket` runs this; compose.yaml
runs that once before web, worker and beat start. It reads nothing but the settings of the
"evidence" alias, so it prepares the bucket the app will use, with the app's credentials.

What it checks afterwards, and fails on: versioning reads back "Enabled", and the bucket's ACL
grants nothing to everyone (AllUsers) or to any AWS account (AuthenticatedUsers). It also
tries one unsigned (anonymous) listing and reports whether the store answered it: SeaweedFS
and AWS refuse it once credentials are configured; a store that answers it lets anyone read
the sealed objects (still ciphertext, docs/storage-encryption.md), and the operator is told."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

PUBLIC_GRANTEES = frozenset(
    {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
)


class BucketNotReady(RuntimeError):
    """The bucket could not be made private and versioned."""


@dataclass
class BucketReport:
    bucket: str
    created: bool = False
    versioning: str = ""
    public_grants: list[str] = field(default_factory=list)
    anonymous_listing_refused: bool | None = None
    notes: list[str] = field(default_factory=list)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def prepare_bucket(storage: Any) -> BucketReport:
    """Make `storage`'s bucket (a django-storages S3Storage) exist, private and versioned.
    Raises BucketNotReady when versioning does not read back Enabled or the ACL is public."""
    client = storage.connection.meta.client
    name = storage.bucket_name
    report = BucketReport(bucket=name)
    try:
        client.head_bucket(Bucket=name)
    except ClientError as error:
        if _code(error) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        arguments: dict[str, Any] = {"Bucket": name}
        region = client.meta.region_name
        if region and region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client.create_bucket(**arguments)
        report.created = True
    try:
        client.put_bucket_acl(Bucket=name, ACL="private")
    except ClientError as error:
        # Buckets with ACLs disabled (AWS's default since 2023) are private by policy.
        report.notes.append(f"put_bucket_acl: {_code(error)} (left to the bucket's policy)")
    try:
        client.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    except ClientError as error:
        report.notes.append(f"put_public_access_block: {_code(error)} (not supported here)")
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    report.versioning = str(client.get_bucket_versioning(Bucket=name).get("Status", ""))
    try:
        grants = client.get_bucket_acl(Bucket=name).get("Grants", [])
        report.public_grants = sorted(
            str(grant["Grantee"].get("URI"))
            for grant in grants
            if grant.get("Grantee", {}).get("URI") in PUBLIC_GRANTEES
        )
    except ClientError as error:
        report.notes.append(f"get_bucket_acl: {_code(error)}")
    try:
        storage.unsigned_connection.meta.client.list_objects_v2(Bucket=name, MaxKeys=1)
        report.anonymous_listing_refused = False
    except ClientError:
        report.anonymous_listing_refused = True

    if report.versioning != "Enabled":
        raise BucketNotReady(f"{name}: versioning reads back {report.versioning!r}, not Enabled")
    if report.public_grants:
        raise BucketNotReady(f"{name}: the ACL grants access to {report.public_grants}")
    return report
