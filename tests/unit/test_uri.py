"""dreambolt_magic.uri: every accepted form with all its fields, every error, and round-trip properties."""

from __future__ import annotations

import ast
import dataclasses
import re
import string
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreambolt_magic import arns
from dreambolt_magic import uri as uri_module
from dreambolt_magic.errors import S3UriError
from dreambolt_magic.uri import AccessPoint, S3Uri, access_point, is_directory_bucket, named_region, parse

VERSION = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
MINIO = "http://127.0.0.1:9000"


def case(text: str, bucket: str, key: str, *, id: str, **fields: str) -> object:
    return pytest.param(text, S3Uri(bucket, key, **fields), id=id)


S3_FORMS = [
    case("s3://bucket/key", "bucket", "key", id="s3"),
    case("s3a://bucket/dir/file.csv", "bucket", "dir/file.csv", id="s3a"),
    case("s3n://bucket/dir/file.csv", "bucket", "dir/file.csv", id="s3n"),
    case("S3://bucket/key", "bucket", "key", id="upper-scheme"),
    case("S3A://bucket/key", "bucket", "key", id="upper-s3a"),
    case("  s3://bucket/key\n\t", "bucket", "key", id="whitespace"),
    case("'s3://bucket/key'", "bucket", "key", id="single-quotes"),
    case('"s3://bucket/key"', "bucket", "key", id="double-quotes"),
    case(' " s3://bucket/key " ', "bucket", "key", id="quotes-and-whitespace"),
    case("s3://my.bucket-1/a/b/c.parquet", "my.bucket-1", "a/b/c.parquet", id="dotted-bucket"),
    case("s3://abc/k", "abc", "k", id="3-char-bucket"),
    case(f"s3://{'a' * 63}/k", "a" * 63, "k", id="63-char-bucket"),
    case("s3://1bucket9/k", "1bucket9", "k", id="digits-at-ends"),
    case("s3://bucket/dir/", "bucket", "dir/", id="prefix-key"),
    case("s3://bucket//lead", "bucket", "/lead", id="key-with-leading-slash"),
    # Keys are literal in s3:// URIs: nothing is decoded and only a final ?versionId= is taken out.
    case("s3://bucket/my file.csv", "bucket", "my file.csv", id="space"),
    case("s3://bucket/données/日本語 ✓.csv", "bucket", "données/日本語 ✓.csv", id="unicode"),
    case("s3://bucket/a+b.csv", "bucket", "a+b.csv", id="plus"),
    case("s3://bucket/100%.csv", "bucket", "100%.csv", id="percent"),
    case("s3://bucket/a%20b%2Fc.csv", "bucket", "a%20b%2Fc.csv", id="percent-escapes-kept"),
    case("s3://bucket/what?.csv", "bucket", "what?.csv", id="question-mark"),
    case("s3://bucket/a#b", "bucket", "a#b", id="hash"),
    case("s3://bucket/k=v&x=y", "bucket", "k=v&x=y", id="equals-ampersand"),
    case("s3://bucket/q?x=1&y=2", "bucket", "q?x=1&y=2", id="query-like-key"),
    case("s3://bucket/k?versionid=abc", "bucket", "k?versionid=abc", id="versionid-wrong-case"),
    case("s3://bucket/k?versionId=a&b=c", "bucket", "k?versionId=a&b=c", id="versionId-not-alone"),
    case("s3://bucket/k?versionId=a?b", "bucket", "k?versionId=a?b", id="versionId-not-last"),
    case(f"s3://bucket/key?versionId={VERSION}", "bucket", "key", version_id=VERSION, id="version"),
    case("s3://bucket/a?b.csv?versionId=v1", "bucket", "a?b.csv", version_id="v1", id="version-after-?"),
    case("s3a://bucket/k?versionId=null", "bucket", "k", version_id="null", id="version-null"),
    case(f"s3://bucket/{'é' * 512}", "bucket", "é" * 512, id="1024-byte-key"),
]

ALIAS = "my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias"
OLAP_ALIAS = "my-olap-ap-hrzrlukc5m36ft7okagglf3gmwluq--ol-s3"

# AWS accepts an access point's alias wherever a bucket name goes; a directory bucket's name fixes its region.
NAMED_BUCKETS = [
    case(f"s3://{ALIAS}/dir/f.csv", ALIAS, "dir/f.csv", id="access-point-alias"),
    case(f"s3://{OLAP_ALIAS}/f.csv", OLAP_ALIAS, "f.csv", id="object-lambda-alias"),
    case(f"s3a://{ALIAS}/f.csv?versionId=v1", ALIAS, "f.csv", version_id="v1", id="alias-with-version"),
    case(f"https://{ALIAS}.s3.us-west-2.amazonaws.com/f.csv", ALIAS, "f.csv", region="us-west-2",
         id="alias-virtual-hosted"),
    case("s3://my-bucket--usw2-az1--x-s3/dir/f.parquet", "my-bucket--usw2-az1--x-s3", "dir/f.parquet",
         region="us-west-2", id="directory-bucket"),
    case("s3://a--b--use1-az4--x-s3/f", "a--b--use1-az4--x-s3", "f", region="us-east-1",
         id="directory-bucket-base-with-double-hyphen"),
    case("s3://logs--apne1-az4--x-s3/f", "logs--apne1-az4--x-s3", "f", region="ap-northeast-1",
         id="directory-bucket-tokyo"),
    case("s3://logs--usw2-lax1-az1--x-s3/f", "logs--usw2-lax1-az1--x-s3", "f", region="us-west-2",
         id="directory-bucket-local-zone"),
    case("https://s3.amazonaws.com/logs--euw1-az1--x-s3/f", "logs--euw1-az1--x-s3", "f", region="eu-west-1",
         id="directory-bucket-path-style"),
]


AP = "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap"
OLAP = "arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/my-olap"
MRAP = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"

# An access point's ARN is the bucket, up to the access point's name; the region is the ARN's.
ARNS = [
    case(f"s3://{AP}/dir/f.csv", AP, "dir/f.csv", region="us-west-2", id="access-point"),
    case(f"s3a://{AP}/f.csv", AP, "f.csv", region="us-west-2", id="s3a"),
    case(f"s3://{AP}/a/b/c.parquet?versionId=v1", AP, "a/b/c.parquet", region="us-west-2", version_id="v1",
         id="version"),
    case(f"s3://{AP}/object/f.csv", AP, "object/f.csv", region="us-west-2", id="key-starting-object"),
    case(f"s3://{AP}/my file?.csv", AP, "my file?.csv", region="us-west-2", id="literal-key"),
    case(f"s3://{AP}//lead", AP, "/lead", region="us-west-2", id="key-with-leading-slash"),
    case("s3://arn:aws:s3:eu-central-1:123456789012:accesspoint/a1b/f", "arn:aws:s3:eu-central-1:123456789012:"
         "accesspoint/a1b", "f", region="eu-central-1", id="3-char-name"),
    case(f"s3://arn:aws:s3:us-east-1:123456789012:accesspoint/{'a' * 50}/f",
         f"arn:aws:s3:us-east-1:123456789012:accesspoint/{'a' * 50}", "f", region="us-east-1", id="50-char-name"),
    case("s3://arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap/f",
         "arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap", "f", region="cn-north-1", id="china"),
    case("s3://arn:aws-us-gov:s3:us-gov-west-1:123456789012:accesspoint/my-ap/f",
         "arn:aws-us-gov:s3:us-gov-west-1:123456789012:accesspoint/my-ap", "f", region="us-gov-west-1",
         id="govcloud"),
    case(f"s3://{OLAP}/dir/f.json", OLAP, "dir/f.json", region="us-west-2", id="object-lambda"),
    case("s3://arn:aws-cn:s3-object-lambda:cn-northwest-1:123456789012:accesspoint/my-olap/f",
         "arn:aws-cn:s3-object-lambda:cn-northwest-1:123456789012:accesspoint/my-olap", "f",
         region="cn-northwest-1", id="object-lambda-china"),
    case(f"s3://{MRAP}/dir/f.csv", MRAP, "dir/f.csv", id="multi-region"),
    case(f"s3://{MRAP}/f.csv?versionId=v2", MRAP, "f.csv", version_id="v2", id="multi-region-version"),
    case(f" '  s3://{AP}/f.csv ' ", AP, "f.csv", region="us-west-2", id="quoted"),
]


@pytest.mark.parametrize(("text", "expected"), ARNS)
def test_access_point_arns(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected
    assert parse(str(expected)) == expected  # str() round-trips


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        (AP, AccessPoint("aws", "s3", "us-west-2", "123456789012", "my-ap")),
        (OLAP, AccessPoint("aws", "s3-object-lambda", "us-west-2", "123456789012", "my-olap")),
        (MRAP, AccessPoint("aws", "s3", "", "123456789012", "mfzwi23gnjvgw.mrap")),
        ("arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap",
         AccessPoint("aws-cn", "s3", "cn-north-1", "123456789012", "my-ap")),
        ("bucket", None),
        (ALIAS, None),
        (f"{AP}/key", None),  # a bucket holds no key
        ("arn:aws:s3:us-west-2:123:accesspoint/my-ap", None),
    ],
)
def test_access_point_reads_an_arn_bucket_back(bucket: str, expected: AccessPoint | None) -> None:
    point = access_point(bucket)
    assert point == expected
    # The region the bucket fixes: the ARN's; none for a Multi-Region Access Point, nor for other names.
    assert named_region(bucket) == (point.region or None if point else None)
    if point is not None:
        assert point.arn == bucket
        assert point.multi_region == (bucket == MRAP)


@pytest.mark.parametrize(("text", "expected"), NAMED_BUCKETS)
def test_aliases_and_directory_buckets(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected
    if text.startswith("s3"):
        assert parse(str(expected)) == expected


@pytest.mark.parametrize(
    ("bucket", "region"),
    [
        ("b--use1-az5--x-s3", "us-east-1"),
        ("b--use2-az1--x-s3", "us-east-2"),
        ("b--usw2-az3--x-s3", "us-west-2"),
        ("b--aps1-az1--x-s3", "ap-south-1"),
        ("b--apne1-az1--x-s3", "ap-northeast-1"),
        ("b--apse2-az1--x-s3", "ap-southeast-2"),
        ("b--eun1-az2--x-s3", "eu-north-1"),
        ("b--euc1-az1--x-s3", "eu-central-1"),
        ("b--cnnw1-az1--x-s3", "cn-northwest-1"),
        ("b--usgw1-az1--x-s3", "us-gov-west-1"),
        ("b--sae1-az1--x-s3", "sa-east-1"),
        ("bucket", None),
        (ALIAS, None),
        ("b--zz-az1--x-s3", None),  # a zone ID that names no region we can tell: S3 will be asked
    ],
)
def test_named_region_is_a_directory_bucket_s_zone_s(bucket: str, region: str | None) -> None:
    assert named_region(bucket) == region


@pytest.mark.parametrize(("bucket", "directory"), [
    ("logs--usw2-az1--x-s3", True), ("a--b--usw2-lax1-az1--x-s3", True), ("logs", False), (ALIAS, False),
    ("logs--x-s3", False), ("arn:aws:s3:us-west-2:123456789012:accesspoint/logs--usw2-az1--x-s3", False),
])
def test_is_directory_bucket(bucket: str, directory: bool) -> None:
    assert is_directory_bucket(bucket) is directory

VIRTUAL_HOSTED = [
    case("https://bucket.s3.amazonaws.com/key", "bucket", "key", id="global"),
    case("http://bucket.s3.amazonaws.com/key", "bucket", "key", id="http"),
    case("https://bucket.s3.us-west-2.amazonaws.com/dir/f.csv", "bucket", "dir/f.csv", region="us-west-2",
         id="regional"),
    case("https://bucket.s3-eu-west-1.amazonaws.com/key", "bucket", "key", region="eu-west-1",
         id="legacy-dash"),
    case("https://bucket.s3.dualstack.ap-southeast-2.amazonaws.com/key", "bucket", "key",
         region="ap-southeast-2", id="dualstack"),
    case("https://bucket.s3-external-1.amazonaws.com/key", "bucket", "key", region="us-east-1",
         id="external-1"),
    case("https://bucket.s3.cn-north-1.amazonaws.com.cn/key", "bucket", "key", region="cn-north-1",
         id="china"),
    case("https://bucket.s3.us-gov-west-1.amazonaws.com/key", "bucket", "key", region="us-gov-west-1",
         id="govcloud"),
    case("https://my.bucket.s3.us-west-2.amazonaws.com/key", "my.bucket", "key", region="us-west-2",
         id="dotted-bucket"),
    case("https://a.s3.b.s3.amazonaws.com/key", "a.s3.b", "key", id="bucket-containing-s3"),
    case("HTTPS://Bucket.S3.US-WEST-2.AMAZONAWS.COM/Key", "bucket", "Key", region="us-west-2",
         id="upper-case-host"),
    case(" 'https://bucket.s3.amazonaws.com/key' ", "bucket", "key", id="quoted"),
]

PATH_STYLE = [
    case("https://s3.amazonaws.com/bucket/key", "bucket", "key", id="global"),
    case("https://s3.us-east-2.amazonaws.com/bucket/dir/key", "bucket", "dir/key", region="us-east-2",
         id="regional"),
    case("https://s3-us-west-1.amazonaws.com/bucket/key", "bucket", "key", region="us-west-1",
         id="legacy-dash"),
    case("https://s3.dualstack.eu-central-1.amazonaws.com/bucket/key", "bucket", "key",
         region="eu-central-1", id="dualstack"),
    case("https://s3-external-1.amazonaws.com/bucket/key", "bucket", "key", region="us-east-1",
         id="external-1"),
    case("https://s3.cn-northwest-1.amazonaws.com.cn/bucket/key", "bucket", "key", region="cn-northwest-1",
         id="china"),
    case("https://s3.amazonaws.com/my.dotted.bucket/key", "my.dotted.bucket", "key", id="dotted-bucket"),
]

CUSTOM_ENDPOINTS = [
    case(f"{MINIO}/bucket/key", "bucket", "key", endpoint=MINIO, id="ip-port"),
    case("https://minio.example.org/bucket/dir/key", "bucket", "dir/key", endpoint="https://minio.example.org",
         id="https-host"),
    case("http://localhost:4566/bucket/key", "bucket", "key", endpoint="http://localhost:4566",
         id="localhost"),
    case("http://[::1]:9000/bucket/key", "bucket", "key", endpoint="http://[::1]:9000", id="ipv6"),
    case("HTTP://MinIO.Example.org:9000/bucket/key", "bucket", "key", endpoint="http://minio.example.org:9000",
         id="upper-case"),
    case(f"{MINIO}/bucket/key?versionId=v2", "bucket", "key", version_id="v2", endpoint=MINIO, id="version"),
]

# In http(s) URLs the path is percent-decoded with unquote (so a raw '+' stays '+') and the query may
# hold versionId.
ENCODED = [
    case("https://bucket.s3.amazonaws.com/my%20file.csv", "bucket", "my file.csv", id="space"),
    case("https://bucket.s3.amazonaws.com/my file.csv", "bucket", "my file.csv", id="raw-space"),
    case("https://bucket.s3.amazonaws.com/a+b.csv", "bucket", "a+b.csv", id="raw-plus"),
    case("https://bucket.s3.amazonaws.com/a%2Bb.csv", "bucket", "a+b.csv", id="plus"),
    case("https://bucket.s3.amazonaws.com/100%25.csv", "bucket", "100%.csv", id="percent"),
    case("https://bucket.s3.amazonaws.com/what%3F.csv", "bucket", "what?.csv", id="question-mark"),
    case("https://bucket.s3.amazonaws.com/a%23b", "bucket", "a#b", id="hash"),
    case("https://bucket.s3.amazonaws.com/k%3Dv%26x%3Dy", "bucket", "k=v&x=y", id="equals-ampersand"),
    case("https://bucket.s3.amazonaws.com/%C3%A9t%C3%A9/%E6%97%A5.csv", "bucket", "été/日.csv", id="unicode"),
    case("https://bucket.s3.amazonaws.com/été.csv", "bucket", "été.csv", id="raw-unicode"),
    case("https://bucket.s3.amazonaws.com/dir%2Ffile", "bucket", "dir/file", id="encoded-slash"),
    case("https://s3.amazonaws.com/bucket/a%2Fb%3Fc%20d", "bucket", "a/b?c d", id="path-style"),
    case(f"{MINIO}/bucket/a%20b+c", "bucket", "a b+c", endpoint=MINIO, id="custom-endpoint"),
    case("https://bucket.s3.amazonaws.com/key?versionId=abc", "bucket", "key", version_id="abc",
         id="version"),
    case(f"https://bucket.s3.amazonaws.com/key?versionId={quote(VERSION, safe='')}", "bucket", "key",
         version_id=VERSION, id="encoded-version"),
    case("https://bucket.s3.amazonaws.com/key?versionId=a+b", "bucket", "key", version_id="a+b",
         id="raw-plus-version"),
    case("https://s3.us-west-2.amazonaws.com/bucket/a%3Fb?versionId=v", "bucket", "a?b", region="us-west-2",
         version_id="v", id="path-style-version"),
]


@pytest.mark.parametrize(("text", "expected"), S3_FORMS)
def test_s3_forms(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "expected"), VIRTUAL_HOSTED)
def test_virtual_hosted_urls(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "expected"), PATH_STYLE)
def test_path_style_urls(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "expected"), CUSTOM_ENDPOINTS)
def test_custom_endpoints(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "expected"), ENCODED)
def test_http_paths_are_percent_decoded(text: str, expected: S3Uri) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("uri", "text"),
    [
        (S3Uri("b", "k"), "s3://b/k"),
        (S3Uri("b", "dir/my file?.csv"), "s3://b/dir/my file?.csv"),
        (S3Uri("b", "k", version_id="v1"), "s3://b/k?versionId=v1"),
        (S3Uri("b", "k", region="eu-west-1", endpoint=MINIO), "s3://b/k"),
    ],
)
def test_str_is_the_canonical_s3_form(uri: S3Uri, text: str) -> None:
    assert str(uri) == text


@pytest.mark.parametrize(("key", "name"), [("dir/sub/f.csv", "f.csv"), ("f.csv", "f.csv"), ("dir/", "")])
def test_name_is_the_last_key_segment(key: str, name: str) -> None:
    assert S3Uri("bucket", key).name == name


def test_s3uri_is_frozen() -> None:
    uri = parse("s3://bucket/key")
    with pytest.raises(dataclasses.FrozenInstanceError):
        uri.key = "other"  # type: ignore[misc]


BUCKET_RULES = ("bucket names are 3-63 characters of lowercase letters, digits, dots and hyphens, "
                "starting and ending with a letter or digit")

ERRORS = [
    # (text, code, what the message must say)
    pytest.param("", "InvalidUri", "the URI is empty; write s3://", id="empty"),
    pytest.param("  \n ", "InvalidUri", "the URI is empty", id="blank"),
    pytest.param("''", "InvalidUri", "the URI is empty", id="empty-quotes"),
    pytest.param("s3://", "InvalidUri", "s3:// names no bucket and no key", id="s3-only"),
    pytest.param("s3:", "InvalidUri", "names no bucket and no key", id="scheme-only"),
    pytest.param("s3:/bucket/key", "InvalidUri", "s3:/bucket/key has one slash after 's3:'; write s3://bucket/key",
                 id="one-slash"),
    pytest.param("s3:bucket/key", "InvalidUri", "s3:bucket/key has no slashes after 's3:'; write s3://bucket/key",
                 id="no-slash"),
    pytest.param("s3:///bucket/key", "InvalidUri", "has 3 slashes after 's3:'; write s3://bucket/key",
                 id="three-slashes"),
    pytest.param("s3a:/bucket/key", "InvalidUri", "after 's3a:'; write s3a://bucket/key", id="s3a-one-slash"),
    pytest.param("s3://bucket", "InvalidUri",
                 "s3://bucket names a bucket but no object key; add the key: s3://bucket/path/to/file.parquet",
                 id="no-key"),
    pytest.param("s3://bucket/", "InvalidUri", "s3://bucket/ names a bucket but no object key",
                 id="empty-key"),
    pytest.param("s3://bucket?versionId=abc", "InvalidUri", "names a bucket but no object key",
                 id="version-no-key"),
    pytest.param("s3://bucket/key?versionId=", "InvalidUri", "empty versionId", id="empty-version"),
    pytest.param("s3://?versionId=abc", "InvalidUri", "names no bucket", id="no-bucket"),
    pytest.param("gs://bucket/key", "InvalidUri", "is a gs: URI", id="gs"),
    pytest.param("file:///tmp/data.csv", "InvalidUri", "only s3:// (or s3a://, s3n://)", id="file"),
    pytest.param("ftp://host/bucket/key", "InvalidUri", "is a ftp: URI", id="ftp"),
    pytest.param("bucket/key", "InvalidUri", "bucket/key has no scheme; write s3://bucket/key", id="bare"),
    pytest.param("bucket", "InvalidUri", "has no scheme; write s3://bucket/path/to/file.parquet",
                 id="bare-bucket"),
    pytest.param("s3://My_Bucket/key", "InvalidBucketName",
                 f"'My_Bucket' is not a valid bucket name: {BUCKET_RULES}", id="upper-and-underscore"),
    pytest.param("s3://ab/key", "InvalidBucketName", BUCKET_RULES, id="too-short"),
    pytest.param(f"s3://{'a' * 64}/key", "InvalidBucketName", BUCKET_RULES, id="too-long"),
    pytest.param("s3://-bucket/key", "InvalidBucketName", BUCKET_RULES, id="leading-hyphen"),
    pytest.param("s3://bucket-/key", "InvalidBucketName", BUCKET_RULES, id="trailing-hyphen"),
    pytest.param("s3://.bucket/key", "InvalidBucketName", BUCKET_RULES, id="leading-dot"),
    pytest.param("s3://bucket./key", "InvalidBucketName", BUCKET_RULES, id="trailing-dot"),
    pytest.param("s3://bucket_1/key", "InvalidBucketName", "'bucket_1' is not a valid bucket name",
                 id="underscore"),
    pytest.param("s3://a..b/key", "InvalidBucketName", "two dots in a row", id="double-dot"),
    pytest.param("s3://192.168.5.4/key", "InvalidBucketName", "formatted like an IP address",
                 id="ip-address"),
    pytest.param("s3://xn--bucket/key", "InvalidBucketName", "cannot start with 'xn--'", id="xn-prefix"),
    pytest.param("s3://my.bucket--usw2-az1--x-s3/key", "InvalidBucketName",
                 "directory bucket names are a base name, '--', the zone ID and '--x-s3', without dots: "
                 "e.g. my-bucket--usw2-az1--x-s3", id="directory-bucket-with-dot"),
    pytest.param("s3://my-bucket--x-s3/key", "InvalidBucketName", "directory bucket names are",
                 id="directory-bucket-without-zone"),
    pytest.param("s3://my-bucket-usw2-az1--x-s3/key", "InvalidBucketName", "directory bucket names are",
                 id="directory-bucket-zone-not-set-off"),
    # Access point ARNs: each malformed one says what is wrong, and what an access point ARN looks like.
    pytest.param(f"s3://{AP}", "InvalidUri", f"s3://{AP} names an access point but no object key; add the key: "
                 f"s3://{AP}/path/to/file.parquet", id="arn-no-key"),
    pytest.param(f"s3://{AP}/", "InvalidUri", "names an access point but no object key", id="arn-empty-key"),
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012", "InvalidArn",
                 "does not hold an access point ARN that can be read: an ARN has six parts separated by ':', this "
                 "one 5; write s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/key (through an Object Lambda "
                 "access point arn:aws:s3-object-lambda:REGION:ACCOUNT:accesspoint/NAME/key, through a "
                 "Multi-Region Access Point arn:aws:s3::ACCOUNT:accesspoint/ALIAS.mrap/key)", id="arn-too-short"),
    pytest.param("s3://arn:gcp:s3:us-west-2:123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "'gcp' is not an AWS partition", id="arn-partition"),
    pytest.param("s3://arn:aws:s3:cn-north-1:123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "region cn-north-1 is not in partition aws", id="arn-china-region-in-aws"),
    pytest.param("s3://arn:aws-cn:s3:us-west-2:123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "region us-west-2 is not in partition aws-cn", id="arn-aws-region-in-china"),
    pytest.param("s3://arn:aws-us-gov:s3:us-east-1:123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "region us-east-1 is not in partition aws-us-gov", id="arn-aws-region-in-govcloud"),
    pytest.param("s3://arn:aws:ec2:us-west-2:123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "the service is 'ec2', not s3 or s3-object-lambda", id="arn-service"),
    pytest.param("s3://arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01ac5d28a6a232904/accesspoint/ap/k",
                 "InvalidArn", "access points on S3 on Outposts are not supported", id="arn-outposts"),
    pytest.param("s3://arn:aws:s3:us-west-2:1234:accesspoint/my-ap/k", "InvalidArn",
                 "the account ID '1234' is not 12 digits", id="arn-account"),
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012:accesspoint:my-ap/k", "InvalidArn",
                 "the resource is 'accesspoint:my-ap', not accesspoint/NAME", id="arn-colon-resource"),
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012:bucket/my-bucket/k", "InvalidArn",
                 "the resource is 'bucket', not accesspoint/NAME", id="arn-not-an-access-point"),
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012:accesspoint", "InvalidArn",
                 "not accesspoint/NAME", id="arn-no-name"),
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012:accesspoint/My_AP/k", "InvalidArn",
                 "'My_AP' is not an access point's name: 3-50 lowercase letters, digits and hyphens",
                 id="arn-bad-name"),
    pytest.param(f"s3://arn:aws:s3:us-west-2:123456789012:accesspoint/{'a' * 51}/k", "InvalidArn",
                 "is not an access point's name", id="arn-name-too-long"),
    pytest.param("s3://arn:aws:s3:us-west:123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "'us-west' is not a region's name", id="arn-bad-region"),
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012:accesspoint/mfzwi23gnjvgw.mrap/k", "InvalidArn",
                 "a Multi-Region Access Point's ARN names no region: "
                 "arn:aws:s3::ACCOUNT:accesspoint/mfzwi23gnjvgw.mrap", id="mrap-with-region"),
    pytest.param("s3://arn:aws:s3::123456789012:accesspoint/my-ap/k", "InvalidArn",
                 "an ARN without a region is a Multi-Region Access Point's, named by its alias", id="arn-no-region"),
    pytest.param("s3://arn:aws:s3-object-lambda::123456789012:accesspoint/my-olap/k", "InvalidArn",
                 "an Object Lambda access point's ARN names its region", id="object-lambda-no-region"),
    pytest.param("s3://arn:aws:s3:::my-bucket/dir/k.csv", "InvalidArn",
                 "holds a bucket's ARN, not an access point's; write s3://my-bucket/dir/k.csv", id="bucket-arn"),
    # An ARN on its own is not a URI: the message gives the s3:// URI to write.
    pytest.param(f"{AP}/dir/k.csv", "InvalidArn", f"is an ARN, not a URI; write s3://{AP}/dir/k.csv",
                 id="bare-arn"),
    pytest.param(f"{AP}/object/dir/k.csv", "InvalidArn", f"write s3://{AP}/dir/k.csv", id="bare-object-arn"),
    pytest.param("arn:aws:s3:::my-bucket/dir/k.csv", "InvalidArn", "write s3://my-bucket/dir/k.csv",
                 id="bare-bucket-object-arn"),
    pytest.param("arn:aws:s3:::my-bucket", "InvalidArn", "write s3://my-bucket/path/to/file.parquet",
                 id="bare-bucket-arn"),
    pytest.param("arn:aws:iam::123456789012:role/reader", "InvalidArn", "write s3://bucket/path/to/file.parquet",
                 id="bare-other-arn"),
    pytest.param("https://s3.amazonaws.com/Bad_Bucket/key", "InvalidBucketName",
                 "'Bad_Bucket' is not a valid", id="path-style-bucket"),
    pytest.param("https://bad_bucket.s3.amazonaws.com/key", "InvalidBucketName",
                 "'bad_bucket' is not a valid", id="virtual-hosted-bucket"),
    pytest.param(f"s3://bucket/{'é' * 513}", "InvalidUri",
                 "is 1026 bytes in UTF-8, but S3 keys are at most 1024", id="key-too-long"),
    pytest.param(f"https://s3.amazonaws.com/bucket/{'a' * 1025}", "InvalidUri", "is 1025 bytes",
                 id="https-key-too-long"),
    pytest.param("s3://bucket/\ud800", "InvalidUri", "lone surrogate", id="surrogate"),
    pytest.param("https://s3.amazonaws.com/", "InvalidUri", "names no bucket", id="path-style-no-bucket"),
    pytest.param("https://s3.amazonaws.com/bucket", "InvalidUri", "names a bucket but no object key",
                 id="path-style-no-key"),
    pytest.param("https://bucket.s3.amazonaws.com/", "InvalidUri", "names a bucket but no object key",
                 id="virtual-hosted-no-key"),
    pytest.param("https://bucket.s3.amazonaws.com", "InvalidUri", "add the key: s3://bucket/path/to/file.parquet",
                 id="virtual-hosted-no-path"),
    pytest.param("https:///bucket/key", "InvalidUri", "names no host", id="no-host"),
    pytest.param("http://localhost:/bucket/key", "InvalidUri", "invalid port", id="empty-port"),
    pytest.param("http://localhost:99999/bucket/key", "InvalidUri", "invalid port", id="port-out-of-range"),
    pytest.param("http://localhost:x/bucket/key", "InvalidUri", "invalid port", id="port-not-a-number"),
    pytest.param("http://[::1/bucket/key", "InvalidUri", "malformed host", id="bad-ipv6"),
    pytest.param("https://bucket.s3.amazonaws.com/a#b", "InvalidUri",
                 "'#' fragment; write a '#' in a key as %23", id="fragment"),
    pytest.param("https://bucket.s3-accelerate.amazonaws.com/key", "InvalidUri",
                 "bucket.s3-accelerate.amazonaws.com is not an S3 endpoint", id="unknown-aws-host"),
    pytest.param("https://ec2.us-east-1.amazonaws.com/bucket/key", "InvalidUri", "is not an S3 endpoint",
                 id="other-aws-service"),
    pytest.param("https://s3.console.aws.amazon.com/s3/object/bucket?region=us-east-1&prefix=key",
                 "InvalidUri", "a page of the AWS console", id="console-link"),
    pytest.param("https://bucket.s3.amazonaws.com/key?foo=1", "InvalidUri",
                 "query parameters other than versionId (foo); presigned URLs are not supported: "
                 "write s3://bucket/key", id="other-query"),
    pytest.param("https://bucket.s3.amazonaws.com/key?versionId=a&versionId=b", "InvalidUri",
                 "needs exactly one non-empty versionId", id="two-versions"),
    pytest.param("https://bucket.s3.amazonaws.com/key?versionId=", "InvalidUri",
                 "needs exactly one non-empty versionId", id="empty-http-version"),
]


@pytest.mark.parametrize(("text", "code", "says"), ERRORS)
def test_errors_name_the_problem(text: str, code: str, says: str) -> None:
    with pytest.raises(S3UriError) as info:
        parse(text)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.code == code
    assert says in error.args[0]
    # The uri is the text as given, except that query values are hidden (they may be secrets).
    assert error.uri is not None
    redacted = error.uri.partition("?")[0] == text.partition("?")[0] and "=..." in error.uri
    assert error.uri == text or redacted


def test_the_brief_s_example_messages_are_exact() -> None:
    for text, message in [
        ("s3:/bucket/key", "s3:/bucket/key has one slash after 's3:'; write s3://bucket/key"),
        ("s3://bucket", "s3://bucket names a bucket but no object key; add the key: s3://bucket/path/to/file.parquet"),
        ("s3://My_Bucket/k", f"'My_Bucket' is not a valid bucket name: {BUCKET_RULES}"),
    ]:
        with pytest.raises(S3UriError) as info:
            parse(text)
        assert info.value.args[0] == message


def test_bucket_errors_carry_the_bucket() -> None:
    with pytest.raises(S3UriError) as info:
        parse("s3://My_Bucket/key")
    assert info.value.bucket == "My_Bucket"


def test_non_text_is_an_uri_error() -> None:
    with pytest.raises(S3UriError, match="expected the URI as text, got NoneType") as info:
        parse(None)  # type: ignore[arg-type]
    assert info.value.code == "InvalidUri"


SECRETS = ("AKIAIOSFODNN7EXAMPLE", "deadbeefcafe0123456789", "FQoGZXIvYXdzEXAMPLETOKEN", "hunter2")


@pytest.mark.parametrize(
    ("text", "param", "suggestion"),
    [
        pytest.param(
            "https://bucket.s3.us-west-2.amazonaws.com/dir/key.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-west-2%2Fs3%2Faws4_request"
            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN&X-Amz-Signature=deadbeefcafe0123456789",
            "X-Amz-Signature",
            "s3://bucket/dir/key.csv",
            id="sigv4",
        ),
        pytest.param(
            "https://bucket.s3.amazonaws.com/dir/key.csv?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"
            "&Expires=1700000000&Signature=deadbeefcafe0123456789",
            "Signature",
            "s3://bucket/dir/key.csv",
            id="sigv2",
        ),
        pytest.param(
            "https://bucket.s3.amazonaws.com/dir/key.csv?versionId=v1&x-amz-security-token=FQoGZXIvYXdzEXAMPLETOKEN",
            "x-amz-security-token",
            "s3://bucket/dir/key.csv?versionId=v1",
            id="with-version",
        ),
    ],
)
def test_presigned_urls_are_refused_without_echoing_secrets(text: str, param: str, suggestion: str) -> None:
    with pytest.raises(S3UriError) as info:
        parse(text)
    error = info.value
    assert error.code == "InvalidUri"
    assert f"presigned URLs are not supported: write {suggestion} and" in error.args[0]
    shown = " ".join([str(error), repr(error), error.uri or ""])
    assert param in shown  # the parameter is named...
    assert not [secret for secret in SECRETS if secret in shown]  # ...its value is not


def test_user_info_in_a_url_is_refused_without_echoing_the_password() -> None:
    with pytest.raises(S3UriError, match="user name or password") as info:
        parse("https://minio:hunter2@minio.example.org/bucket/key")
    assert "hunter2" not in f"{info.value} {info.value.uri}"


def test_module_is_pure() -> None:
    # uri.py (and arns.py, the access point ARNs it reads) must stay importable without boto3 and do no I/O:
    # only these imports are allowed.
    for module in (uri_module, arns):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert imported <= {"__future__", "re", "dataclasses", "urllib.parse", "dreambolt_magic.errors",
                            "dreambolt_magic.arns"}


# -- properties ------------------------------------------------------------------------------------------


def legal_bucket(name: str) -> bool:
    return (
        ".." not in name
        and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name)
        and not name.startswith("xn--")
        # A directory bucket's name fixes its region, and must name a zone: both have tests of their own.
        and not name.endswith("--x-s3")
    )


buckets = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True).filter(legal_bucket)
# 256 characters are at most 1024 UTF-8 bytes; codec="utf-8" leaves out the surrogates.
any_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=256)


def ends_like_a_version(key: str) -> bool:
    head, question, tail = key.rpartition("?")
    return bool(question) and tail.startswith("versionId=") and "&" not in tail


# Surrounding whitespace is stripped from the whole URI, so an s3:// key cannot end in whitespace.
literal_keys = any_text.filter(
    lambda k: len(k.encode("utf-8")) <= 1024 and k == k.rstrip() and not ends_like_a_version(k)
)
http_keys = any_text.filter(lambda k: len(k.encode("utf-8")) <= 1024)
# Real version ids are URL-safe base64-like text, and may contain '/' and '+'.
versions = st.none() | st.text(string.ascii_letters + string.digits + "._+/=-", min_size=1)


@given(bucket=buckets, key=literal_keys, version=versions)
def test_s3_uris_round_trip(bucket: str, key: str, version: str | None) -> None:
    text = f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else "")
    uri = parse(text)
    assert (uri.bucket, uri.key, uri.version_id) == (bucket, key, version)
    assert (uri.region, uri.endpoint) == (None, None)
    assert str(uri) == text
    assert parse(str(uri)) == uri


@given(bucket=buckets, key=http_keys)
def test_path_style_https_round_trips(bucket: str, key: str) -> None:
    uri = parse(f"https://s3.amazonaws.com/{bucket}/{quote(key, safe='/')}")
    assert (uri.bucket, uri.key) == (bucket, key)


@given(
    bucket=buckets,
    key=http_keys,
    host=st.sampled_from(["s3", "s3.eu-west-3", "s3-eu-west-3", "s3.dualstack.eu-west-3"]),
)
def test_virtual_hosted_https_round_trips(bucket: str, key: str, host: str) -> None:
    uri = parse(f"https://{bucket}.{host}.amazonaws.com/{quote(key, safe='/')}")
    assert (uri.bucket, uri.key) == (bucket, key)
    assert uri.region == (None if host == "s3" else "eu-west-3")


@given(bucket=buckets, key=http_keys)
def test_custom_endpoint_https_round_trips(bucket: str, key: str) -> None:
    uri = parse(f"{MINIO}/{bucket}/{quote(key, safe='/')}")
    assert uri == S3Uri(bucket, key, endpoint=MINIO)


@given(head=st.text(st.characters(codec="utf-8", exclude_characters="?"), max_size=20))
def test_keys_over_1024_bytes_are_refused(head: str) -> None:
    key = head + "a" * 1024 + "z"
    with pytest.raises(S3UriError, match=f"is {len(key.encode('utf-8'))} bytes in UTF-8"):
        parse(f"s3://bucket/{key}")


@given(point=st.sampled_from([AP, OLAP, MRAP, "arn:aws-us-gov:s3:us-gov-east-1:123456789012:accesspoint/a-1"]),
       key=literal_keys, version=versions)
def test_access_point_uris_round_trip(point: str, key: str, version: str | None) -> None:
    text = f"s3://{point}/{key}" + (f"?versionId={version}" if version else "")
    uri = parse(text)
    assert (uri.bucket, uri.key, uri.version_id) == (point, key, version)
    assert uri.region == (None if point == MRAP else point.split(":")[3])
    assert str(uri) == text
    assert parse(str(uri)) == uri
