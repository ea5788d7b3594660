"""Access point ARNs: what ``arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`` in an ``s3://`` URI names.

:func:`split_arn` reads one (and the key after it) for :func:`dreambolt_magic.uri.parse`; :func:`access_point`
tells whether a bucket, as :attr:`~dreambolt_magic.uri.S3Uri.bucket` holds it, is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ARN_FORMS", "REGION_PATTERN", "AccessPoint", "access_point", "bucket_arn_path", "split_arn", "uri_for_arn"]

#: A region's name (eu-west-1, us-gov-west-1, cn-north-1), as a regular expression.
REGION_PATTERN = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_PARTITION = re.compile(r"aws(?:-[a-z]+)*")
_ACCOUNT = re.compile(r"\d{12}")
_ACCESS_POINT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,48}[a-z0-9]")
_MRAP_ALIAS = re.compile(r"[a-z0-9]+\.mrap")
_ACCESS_POINT_SERVICES = ("s3", "s3-object-lambda")
# Partitions whose regions have a prefix of their own; every other region name is in another partition.
_PARTITION_REGIONS = {"aws-cn": "cn-", "aws-us-gov": "us-gov-"}
ARN_FORMS = ("arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/key (through an Object Lambda access point "
              "arn:aws:s3-object-lambda:REGION:ACCOUNT:accesspoint/NAME/key, through a Multi-Region Access Point "
              "arn:aws:s3::ACCOUNT:accesspoint/ALIAS.mrap/key)")


@dataclass(frozen=True)
class AccessPoint:
    """An access point, as its ARN names it (:func:`access_point`).

    ``service`` is ``s3``, or ``s3-object-lambda`` for an Object Lambda access point. A Multi-Region Access
    Point has no ``region`` (``""``): its ``name`` is its alias (``....mrap``), and botocore signs its requests
    with SigV4A for every region.
    """

    partition: str
    service: str
    region: str
    account: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:accesspoint/{self.name}"

    @property
    def multi_region(self) -> bool:
        return not self.region


def split_arn(body: str) -> tuple[AccessPoint, str]:
    """The access point whose ARN starts ``body`` and the key after it; ValueError says what is wrong."""
    fields = body.split(":", 5)
    if len(fields) < 6:
        raise ValueError(f"an ARN has six parts separated by ':', this one {len(fields)}")
    _, partition, service, region, account, resource = fields
    kind, slash, rest = resource.partition("/")
    name, _, key = rest.partition("/")
    if not _PARTITION.fullmatch(partition):
        raise ValueError(f"{partition!r} is not an AWS partition (aws, aws-cn, aws-us-gov, ...)")
    if service == "s3-outposts":
        raise ValueError("access points on S3 on Outposts are not supported")
    if service not in _ACCESS_POINT_SERVICES:
        raise ValueError(f"the service is {service!r}, not s3 or s3-object-lambda")
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"the account ID {account!r} is not 12 digits")
    if kind != "accesspoint" or not slash:
        raise ValueError(f"the resource is {resource.partition('/')[0]!r}, not accesspoint/NAME")
    if not region:
        if service != "s3":
            raise ValueError("an Object Lambda access point's ARN names its region")
        if not _MRAP_ALIAS.fullmatch(name):
            raise ValueError(f"an ARN without a region is a Multi-Region Access Point's, named by its alias "
                             f"(e.g. mfzwi23gnjvgw.mrap), not {name!r}")
    elif not re.fullmatch(REGION_PATTERN, region):
        raise ValueError(f"{region!r} is not a region's name")
    elif name.endswith(".mrap"):
        raise ValueError("a Multi-Region Access Point's ARN names no region: arn:aws:s3::ACCOUNT:accesspoint/"
                         f"{name}")
    elif not _ACCESS_POINT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an access point's name: 3-50 lowercase letters, digits and hyphens, "
                         "starting and ending with a letter or digit")
    else:
        home = next((p for p, prefix in _PARTITION_REGIONS.items() if region.startswith(prefix)), None)
        if home != partition and (home or partition in _PARTITION_REGIONS):
            raise ValueError(f"region {region} is not in partition {partition}")
    return AccessPoint(partition, service, region, account, name), key


def access_point(bucket: str) -> AccessPoint | None:
    """The access point a bucket that is an ARN names (as :attr:`S3Uri.bucket` holds it); ``None`` for a
    bucket's name or alias, or anything else that is not an access point's ARN."""
    if not bucket.startswith("arn:"):
        return None
    try:
        point, key = split_arn(bucket)
    except ValueError:
        return None
    return point if not key and point.arn == bucket else None


def uri_for_arn(arn: str) -> str | None:
    """The ``s3://`` URI to write for an ARN given on its own: a bucket's or an object's
    (``arn:aws:s3:::bucket/key``), an access point's, or an object's through one (``.../NAME/object/KEY``)."""
    path = bucket_arn_path(arn)
    if path is not None:
        bucket, _, key = path.partition("/")
    elif ":accesspoint/" in arn:
        head, _, rest = arn.partition(":accesspoint/")
        name, _, key = rest.partition("/")
        bucket, key = f"{head}:accesspoint/{name}", key.removeprefix("object/")
    else:
        return None
    return f"s3://{bucket}/{key or 'path/to/file.parquet'}"


def bucket_arn_path(arn: str) -> str | None:
    """``bucket/key`` of a bucket's or an object's ARN (``arn:aws:s3:::bucket/key``); ``None`` for other ARNs."""
    fields = arn.split(":", 5)
    return fields[5] if len(fields) == 6 and fields[2] == "s3" and not fields[3] and not fields[4] else None
