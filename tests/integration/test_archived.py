"""Archived objects against moto over HTTP: moto refuses a GET of a GLACIER or DEEP_ARCHIVE object with
InvalidObjectState, and its listings give each object's storage class.

A single archived object is an S3ArchivedError whose remedy is the restore command for it; a set holding
any is refused from its listing, before any download, unless ``skip_archived`` loads the rest; ``info``
flags them without reading them.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from faults.proxy import FaultProxy
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic import S3ArchivedError
from dreambolt_magic.api import summarize
from dreambolt_magic.datasets import preview

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "cold"


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(30)


@pytest.fixture
def mixed(s3: S3Helper, frame: pd.DataFrame) -> S3Helper:
    """``set/``: two readable objects (one in Glacier Instant Retrieval), one GLACIER, one DEEP_ARCHIVE."""
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "set/a-warm.csv", to_bytes(frame.iloc[:10], "csv"))
    s3.put(BUCKET, "set/b-frozen.csv", to_bytes(frame.iloc[10:20], "csv"), StorageClass="GLACIER")
    s3.put(BUCKET, "set/c-instant.csv", to_bytes(frame.iloc[20:], "csv"), StorageClass="GLACIER_IR")
    s3.put(BUCKET, "set/d-deep.parquet", to_bytes(frame, "parquet"), StorageClass="DEEP_ARCHIVE")
    return s3


def object_gets(proxy: FaultProxy) -> list[str]:
    return [r.path for r in proxy.requests if r.method == "GET" and r.path.count("/") > 1]


def test_an_archived_object_alone_is_explained_with_its_restore_command(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "deep/my file.csv", b"a,b\n1,2\n", StorageClass="DEEP_ARCHIVE")
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False)
    err = info.value
    assert (err.code, err.status, err.bucket, err.key) == ("InvalidObjectState", 403, BUCKET, "deep/my file.csv")
    assert "DEEP_ARCHIVE" in err.explanation
    # A command that can be pasted into a shell as it is: the key quoted, at this endpoint.
    command = (f"aws s3api restore-object --bucket {BUCKET} --key 'deep/my file.csv' --restore-request Days=1 "
               f"--endpoint-url {s3.endpoint_url}")
    assert command in err.remedy
    assert shlex.split(command)[6] == "deep/my file.csv"


def test_an_archived_version_gets_the_restore_command_for_that_version(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = s3.client.put_object(Bucket=BUCKET, Key="v.csv", Body=b"a\n1\n", StorageClass="GLACIER")["VersionId"]
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(f"s3://{BUCKET}/v.csv?versionId={version}", endpoint_url=s3.endpoint_url,
                             progress=False)
    assert f"--key v.csv --version-id {version} --restore-request Days=1" in info.value.remedy


def test_a_set_with_archived_objects_is_refused_before_any_download(mixed: S3Helper, proxy: FaultProxy) -> None:
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(f"s3://{BUCKET}/set/", endpoint_url=proxy.endpoint_url, progress=False)
    err = info.value
    assert err.code == "ArchivedObjects"
    assert object_gets(proxy) == []  # refused from the listing alone
    assert err.hints["archived"] == ["set/b-frozen.csv", "set/d-deep.parquet"]  # not the Instant Retrieval one
    assert "2 objects of s3://cold/set/ are archived" in err.explanation
    assert "set/b-frozen.csv, set/d-deep.parquet" in err.explanation and "DEEP_ARCHIVE, GLACIER" in err.explanation
    assert "--skip-archived" in err.remedy
    assert f"aws s3api restore-object --bucket {BUCKET} --key set/b-frozen.csv" in err.remedy


def test_many_archived_objects_are_named_a_few_at_a_time(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    for i in range(8):
        s3.put(BUCKET, f"many/part-{i}.csv", b"a\n1\n", StorageClass="GLACIER")
    s3.put(BUCKET, "many/warm.csv", b"a\n1\n")
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(f"s3://{BUCKET}/many/", endpoint_url=s3.endpoint_url, progress=False)
    assert "part-0.csv, many/part-1.csv, many/part-2.csv, many/part-3.csv, many/part-4.csv and 3 more" in (
        info.value.explanation)


def test_skip_archived_loads_the_rest_and_the_summary_counts_them(
    mixed: S3Helper, proxy: FaultProxy, frame: pd.DataFrame
) -> None:
    df = dreambolt_magic.load(f"s3://{BUCKET}/set/", endpoint_url=proxy.endpoint_url, skip_archived=True,
                              progress=False)
    expected = pd.concat([frame.iloc[:10], frame.iloc[20:]], ignore_index=True)
    pd.testing.assert_frame_equal(df, expected)
    assert df.attrs["s3"]["skipped_archived"] == 2
    assert df.attrs["s3"]["object_count"] == 2
    assert "2 archived objects skipped" in summarize(df)
    assert sorted(object_gets(proxy)) == [f"/{BUCKET}/set/a-warm.csv", f"/{BUCKET}/set/c-instant.csv"]


def test_skipping_every_object_leaves_nothing_and_says_so(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "all/a.csv", b"a\n1\n", StorageClass="GLACIER")
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(f"s3://{BUCKET}/all/", endpoint_url=s3.endpoint_url, skip_archived=True, progress=False)
    assert info.value.code == "ArchivedObjects"
    assert "leaves nothing to load" in str(info.value)
    assert info.value.explanation.startswith("The one object of s3://cold/all/ is archived (GLACIER storage class)")


def test_a_sample_meets_archived_objects_as_it_lists(mixed: S3Helper, frame: pd.DataFrame) -> None:
    uri = f"s3://{BUCKET}/set/"
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(uri, endpoint_url=mixed.endpoint_url, sample=25, progress=False)
    assert info.value.hints["archived"] == ["set/b-frozen.csv"]
    df = dreambolt_magic.load(uri, endpoint_url=mixed.endpoint_url, sample=25, skip_archived=True, progress=False)
    assert len(df) == 20 and df.attrs["s3"]["skipped_archived"] == 2


def test_only_the_objects_the_filter_leaves_are_checked(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "t/year=2023/a.csv", b"v\n1\n", StorageClass="GLACIER")
    s3.put(BUCKET, "t/year=2024/a.csv", b"v\n2\n")
    uri = f"s3://{BUCKET}/t/"
    with pytest.raises(S3ArchivedError) as info:
        dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, filter="v > 0", progress=False)
    assert info.value.code == "ArchivedObjects"
    df = dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, filter="year == 2024", progress=False)
    assert df["v"].tolist() == [2]


def test_info_flags_archived_objects_without_reading_them(mixed: S3Helper, proxy: FaultProxy) -> None:
    found = preview.info(f"s3://{BUCKET}/set/", endpoint_url=proxy.endpoint_url)
    assert [o.uri.rsplit("/", 1)[1] for o in found.archived] == ["b-frozen.csv", "d-deep.parquet"]
    assert [o.storage_class for o in found.objects] == ["STANDARD", "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE"]
    text = str(found)
    assert "Archived: 2 objects (DEEP_ARCHIVE, GLACIER) must be restored before loading" in text
    assert "d-deep.parquet" in text and "archived (DEEP_ARCHIVE)" in text
    assert [g for g in object_gets(proxy) if "frozen" in g or "deep" in g] == []


def test_dask_refuses_archived_objects_when_binding_or_leaves_them_out(
    mixed: S3Helper, frame: pd.DataFrame
) -> None:
    pytest.importorskip("dask.dataframe")
    uri = f"s3://{BUCKET}/set/"
    with pytest.raises(S3ArchivedError):
        dreambolt_magic.load(uri, engine="dask", endpoint_url=mixed.endpoint_url, progress=False)
    lazy = dreambolt_magic.load(uri, engine="dask", endpoint_url=mixed.endpoint_url, skip_archived=True,
                                progress=False)
    assert lazy.npartitions == 2 and len(lazy.compute(scheduler="sync")) == 20
