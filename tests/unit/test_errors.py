"""The error tables: every code maps to a class, and every code and class has a cause and a fix.

How botocore's exceptions become these is in test_translation.py.
"""

from __future__ import annotations

import string

import pytest

import dreambolt_magic
from dreambolt_magic import errors, explain
from dreambolt_magic.client.retry import RETRYABLE_CODES, THROTTLING_CODES
from dreambolt_magic.errors import CODE_CLASSES, STATUS_CLASSES, S3Error, S3RateLimit, class_for

LEAVES = [
    errors.S3UriError, errors.S3AuthError, errors.S3NotFound, errors.S3RateLimit, errors.S3RegionError,
    errors.S3NetworkError, errors.S3FormatError, errors.S3TooLarge, errors.S3CacheError, errors.S3ArchivedError,
    errors.S3GenericError,
]


def test_every_leaf_is_exported_and_derives_from_the_root() -> None:
    for cls in LEAVES:
        assert issubclass(cls, S3Error)
        assert getattr(dreambolt_magic, cls.__name__) is cls
        assert cls.__name__ in errors.__all__


def test_no_builtin_names_are_shadowed() -> None:
    import builtins

    assert not [name for name in errors.__all__ if hasattr(builtins, name)]


#: Codes the retry policy retries that have no entry of their own in CODE_CLASSES: their class comes from the
#: status they arrive with, their text from that class. A code added to RETRYABLE_CODES must be named in
#: CODE_CLASSES (with an explanation) or be added here, on purpose.
RETRIED_UNNAMED: set[str] = set()


def _template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def assert_fully_explained(err: S3Error) -> None:
    """The error's explanation and remedy exist, use only fields the templates are given, and leave none
    unfilled; the plain text names the error's code."""
    cause, fix = explain._entry(err)
    known = set(explain._values(err))
    assert _template_fields(cause) <= known and _template_fields(fix) <= known, (err.code, cause, fix)
    assert len(err.explanation) > 20 and "{" not in err.explanation and "}" not in err.explanation
    assert len(err.remedy) > 10 and "{" not in err.remedy and "}" not in err.remedy
    if err.code:
        assert err.code in explain.render_text(err)


@pytest.mark.parametrize("code", sorted(CODE_CLASSES))
def test_every_code_maps_to_a_class_with_an_explanation_and_a_remedy(code: str) -> None:
    cls = class_for(code, None)
    assert cls is CODE_CLASSES[code]
    err = cls(code=code, uri="s3://bucket/key.csv", bucket="bucket", key="key.csv", region="us-east-1")
    assert code in explain.EXPLANATIONS, f"{code} has no specific explanation"
    assert_fully_explained(err)


@pytest.mark.parametrize("code", sorted(RETRYABLE_CODES))
def test_every_retryable_code_is_named_or_retried_unnamed_on_purpose(code: str) -> None:
    if code in CODE_CLASSES:
        assert code not in RETRIED_UNNAMED, f"{code} is named now: take it out of RETRIED_UNNAMED"
        assert code in explain.EXPLANATIONS, f"{code} is named but has no explanation of its own"
        statuses: list[int | None] = [None]
    else:
        assert code in RETRIED_UNNAMED, f"{code} is retried but neither named in CODE_CLASSES nor listed here"
        statuses = [400, 429, 500, 503, None]  # whatever status it comes with, it is still explained
    for status in statuses:
        cls = class_for(code, status)
        if code in CODE_CLASSES:
            assert cls is CODE_CLASSES[code]
        err = cls(code=code, status=status, attempts=5, uri="s3://bucket/key.csv", bucket="bucket", key="key.csv",
                  region="us-east-1")
        assert_fully_explained(err)


def test_the_codes_retried_unnamed_are_all_retried() -> None:
    # A stale entry would let the test above pass for a code nobody retries any more.
    assert RETRIED_UNNAMED <= RETRYABLE_CODES


@pytest.mark.parametrize("cls", LEAVES)
def test_every_class_explains_itself_without_a_code(cls: type[S3Error]) -> None:
    err = cls(uri="s3://b/k", bucket="b", key="k", status=418)
    assert err.explanation and err.remedy
    assert cls.__name__ in err._repr_html_()


@pytest.mark.parametrize(("status", "name"), [(301, "S3RegionError"), (403, "S3AuthError"), (404, "S3NotFound"),
                                              (429, "S3RateLimit"), (503, "S3RateLimit"), (500, "S3GenericError"),
                                              (418, "S3GenericError")])
def test_status_decides_when_the_code_is_unknown(status: int, name: str) -> None:
    assert class_for("SomethingNew", status).__name__ == name
    assert set(STATUS_CLASSES) <= {301, 307, 401, 403, 404, 429, 503}


def test_message_carries_code_and_status_once() -> None:
    err = errors.S3NotFound(uri="s3://b/k", code="NoSuchKey", status=404)
    assert str(err) == "s3://b/k was not found (NoSuchKey, HTTP 404)"


def test_render_traceback_is_short_once_displayed() -> None:
    err = errors.S3NotFound(uri="s3://b/k", code="NoSuchKey", status=404, bucket="b", key="k")
    long = err._render_traceback_()
    assert len(long) > 3 and any("How to fix it" in line for line in long)
    err.displayed = True
    # The rich display said it once; the cell fails with one line that repeats nothing of it.
    short = err._render_traceback_()
    assert len(short) == 1 and "NoSuchKey" not in short[0] and "s3://b/k" not in short[0]
    assert "nothing was bound" in short[0]


def test_html_escapes_what_it_shows() -> None:
    err = errors.S3NotFound(uri="s3://b/<script>.csv", bucket="b", key="<script>.csv", code="NoSuchKey")
    assert "<script>" not in err._repr_html_()
    assert "&lt;script&gt;" in err._repr_html_()


@pytest.mark.parametrize("code", ["AccessDenied", None])
@pytest.mark.parametrize(
    ("bucket", "resource"),
    [
        ("b", "arn:aws:s3:::b/dir/k.csv"),
        ("arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap",
         "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/object/dir/k.csv"),
        ("arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
         "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/dir/k.csv"),
    ],
)
def test_access_denied_names_the_resource_to_ask_for(bucket: str, resource: str, code: str | None) -> None:
    # Through an access point, the policy grants on the access point's object ARN, not on a bucket's.
    err = errors.S3AuthError(code=code, status=403, bucket=bucket, key="dir/k.csv")
    assert f"s3:GetObject on {resource}" in err.remedy
    assert "arn:aws:s3:::arn:" not in err.remedy


def test_profile_appears_in_remedies_for_sso() -> None:
    err = errors.S3AuthError(code="SSOTokenExpired", hints={"profile": "dev"})
    assert "aws sso login --profile dev" in err.remedy


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_every_throttling_code_is_reported_as_throttling(code: str) -> None:
    # Whatever status S3 sends it with: some throttling answers come as 400, HEAD ones with none.
    for status in (400, 429, 503, None):
        assert class_for(code, status) is S3RateLimit, (code, status)


def test_parser_options_are_advised_for_csv_only() -> None:
    from dreambolt_magic.errors import S3FormatError

    csv = S3FormatError("k could not be parsed", key="k", code="ParseError", hints={"format": "csv"})
    parquet = S3FormatError("k does not end with PAR1", key="k", code="ParseError", hints={"format": "parquet"})
    assert "--sep ';'" in csv.remedy and "sep" not in parquet.remedy
