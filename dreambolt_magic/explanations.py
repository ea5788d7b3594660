"""What each S3 error code (and each of the loader's own codes) means and how to fix it: :data:`EXPLANATIONS`
(the codes about the data itself are in :mod:`dreambolt_magic.data_explanations`),
and a fallback per error class for codes without an entry (:data:`FALLBACK`). Templates, filled from the
error's fields and hints by :mod:`dreambolt_magic.explain`; none of them ever names a credential.
"""

from __future__ import annotations

from dreambolt_magic.data_explanations import DATA_EXPLANATIONS
from dreambolt_magic.errors import (
    S3ArchivedError,
    S3AuthError,
    S3CacheError,
    S3Error,
    S3FormatError,
    S3GenericError,
    S3NetworkError,
    S3NotFound,
    S3RateLimit,
    S3RegionError,
    S3TooLarge,
    S3UriError,
)

__all__ = ["EXPLANATIONS", "FALLBACK"]

_PROFILE_LOGIN = "aws sso login{profile_flag}"
_RESTORE = ("`aws s3api restore-object --bucket {bucket} --key {key_arg}{version_flag} --restore-request "
            "{restore_request}{endpoint_flag}`")

#: code → (what happened, what to do). Templates see the error's fields and hints (see ``_values``).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    # What the bytes, the memory, the cache, sets and tables say: data_explanations.py.
    **DATA_EXPLANATIONS,
    "AccessDenied": (
        "S3 accepted the credentials{who} but they are not allowed to read {where}: the IAM policy, "
        "the bucket policy or an SCP denies s3:GetObject (or KMS decryption of the object).{requester_pays_note}",
        "Ask for s3:GetObject on {object_arn} (and kms:Decrypt if the object is "
        "SSE-KMS encrypted), or use a profile that has it: --profile NAME. If the bucket is public, "
        "load it without credentials: --anon.{requester_pays_fix}",
    ),
    "AllAccessDisabled": (
        "All access to bucket {bucket} has been disabled by AWS.",
        "Contact the bucket's owner or AWS Support; no credentials can read it.",
    ),
    "AccountProblem": (
        "AWS reports a problem with the account that owns the credentials{who}.",
        "Check the account's status (billing, suspension) in the AWS console.",
    ),
    "InvalidAccessKeyId": (
        "AWS does not know the access key id the request was signed with{who}: it was deleted, "
        "mistyped, or belongs to another partition or to an S3-compatible store.",
        "Check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id; `aws sts get-caller-identity"
        "{profile_flag}` shows which identity is in use. For an S3-compatible store, give its endpoint "
        "with --endpoint-url.",
    ),
    "SignatureDoesNotMatch": (
        "The request was signed with a secret key that does not match the access key id{who}.",
        "Check AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key (a stray space or a key from "
        "another user is common), then run `aws sts get-caller-identity{profile_flag}`.",
    ),
    "ExpiredToken": (
        "The temporary credentials{who} have expired.",
        "Refresh them: `" + _PROFILE_LOGIN + "` for SSO profiles, or get a new session token "
        "(e.g. `aws sts assume-role`), then run the cell again.",
    ),
    "InvalidToken": (
        "The session token{who} is malformed or was issued for another account or partition.",
        "Unset a stale AWS_SESSION_TOKEN, or refresh it: `" + _PROFILE_LOGIN + "`.",
    ),
    "TokenRefreshRequired": (
        "The session token{who} must be refreshed.",
        "Refresh it: `" + _PROFILE_LOGIN + "`, then run the cell again.",
    ),
    "RequestTimeTooSkewed": (
        "This machine's clock differs from AWS's by more than 15 minutes, so signatures are refused.",
        "Synchronise the clock (e.g. enable NTP: `timedatectl set-ntp true`).",
    ),
    "NoCredentials": (
        "No AWS credentials were found: not in the environment (AWS_ACCESS_KEY_ID), not in "
        "~/.aws/credentials or ~/.aws/config{profile_note}, and no SSO session or instance role. {unsigned_note}",
        "Configure credentials (`aws configure`, or `aws configure sso` then `aws sso login`), pick a "
        "profile with --profile NAME, or set AWS_PROFILE. If the object is public, use --anon.",
    ),
    "ProfileNotFound": (
        "The AWS profile {profile!r} is not defined in ~/.aws/config or ~/.aws/credentials.",
        "Use one of the configured profiles ({available}) with --profile NAME, or create it with "
        "`aws configure --profile {profile}`.",
    ),
    "SSOTokenExpired": (
        "The AWS SSO (IAM Identity Center) session{who} has expired or was never started.",
        "Run `" + _PROFILE_LOGIN + "` in a terminal, then run the cell again.",
    ),
    "CredentialsError": (
        "The credentials could not be obtained{who}: the credential source failed ({detail}).",
        "Check the profile's configuration (credential_process, role_arn, source_profile) with "
        "`aws sts get-caller-identity{profile_flag}`.",
    ),
    "ConfigFileError": ("{message}. botocore reads it on every load; the line is not shown, as it may hold a secret.",
                        "Fix that line; a key pasted alone on a line or a [header] without its ] is the usual cause."),
    "NoSuchBucket": (
        "There is no bucket named {bucket}{at_endpoint}.",
        "Check the bucket name for typos (bucket names are lowercase); `aws s3 ls{endpoint_flag}` "
        "lists the buckets you can see.",
    ),
    "NoSuchKey": (
        "Bucket {bucket} exists but has no object with the key {key!r}.",
        "Check the key: keys are case-sensitive and include the full path. "
        "`aws s3 ls s3://{bucket}/{parent}{endpoint_flag}` lists what is there.",
    ),
    "NoSuchVersion": (
        "Object {key!r} has no version {version}.",
        "List the versions with `aws s3api list-object-versions --bucket {bucket} --prefix {key}`, or "
        "drop ?versionId= to read the current version.",
    ),
    "SlowDown": (
        "S3 asked to slow down (HTTP 503 SlowDown) {attempts_text}: the prefix is receiving more "
        "requests than it can serve right now.",
        "Wait a minute and run the cell again, or allow more attempts: --max-attempts 10.",
    ),
    "PermanentRedirect": (
        "Bucket {bucket} is in region {bucket_region}, not {region}.",
        "Use --region {bucket_region}, or drop --region and let the region be detected.",
    ),
    "AuthorizationHeaderMalformed": (
        "The request was signed for region {region}, but bucket {bucket} is in {bucket_region}.",
        "Use --region {bucket_region}, or drop --region and let the region be detected.",
    ),
    "IllegalLocationConstraintException": (
        "Bucket {bucket} is in another region ({bucket_region}) than the one used ({region}).",
        "Use --region {bucket_region}.",
    ),
    "EndpointConnectionError": (
        "Could not connect to the S3 endpoint{at_endpoint} {attempts_text}: nothing answered.",
        "Check the network (VPN, proxy: HTTPS_PROXY), the region name, and --endpoint-url if you use an "
        "S3-compatible store.",
    ),
    "ConnectTimeout": (
        "Connecting to S3{at_endpoint} timed out {attempts_text}.",
        "Check the network, firewall or proxy (HTTPS_PROXY); on a slow link raise the timeout with "
        "%config S3IngestMagics.connect_timeout = 30.",
    ),
    "ReadTimeout": (
        "S3{at_endpoint} stopped sending data {attempts_text}.",
        "Run the cell again; on a slow link raise %config S3IngestMagics.read_timeout = 120.",
    ),
    "TooSlow": (
        "S3{at_endpoint} sent {where} too slowly {attempts_text}: {rate_text} over {window_text}, under {floor_text}.",
        "Run the cell again; on a slow link lower the floor (bytes a second, 0: none): --min-speed 100, "
        "%config S3IngestMagics.min_speed = 100, or load(..., min_speed=100).",
    ),
    "ConnectionClosed": (
        "The connection to S3{at_endpoint} was closed before the answer was complete {attempts_text}.",
        "Run the cell again; if it keeps happening, check proxies or middleboxes on the path.",
    ),
    "IncompleteBody": (
        "The download of {where} kept breaking off before the end {attempts_text}.",
        "Run the cell again; on an unreliable link allow more attempts: --max-attempts 10.",
    ),
    "ChecksumMismatch": (
        "The bytes of {where} did not match the checksum S3 stores for them {attempts_text}: they were "
        "damaged or cut short on the way.",
        "Run the cell again; if it keeps happening, a proxy on the path may be altering responses.",
    ),
    "RequestTimeout": (
        "S3 closed the connection because it was idle for too long {attempts_text}.",
        "Run the cell again; check for a slow or congested link.",
    ),
    "PriorRequestNotComplete": (
        "S3 was still working on an earlier request for {where} {attempts_text}.",
        "Wait a moment and run the cell again.",
    ),
    "IDPCommunicationError": (
        "The identity provider{who} that issues the credentials could not be reached {attempts_text}.",
        "Check the network path to your identity provider (SSO, OIDC), then run the cell again; "
        "`aws sts get-caller-identity{profile_flag}` shows whether credentials can be had.",
    ),
    "InternalError": (
        "S3 had an internal error {attempts_text}.",
        "Wait a little and run the cell again; if it persists, check the AWS Health Dashboard.",
    ),
    "InvalidObjectState": (
        "{where} is archived{storage_class_note}: S3 serves an archived object only once a copy of it has been "
        "restored, and this one has none (or its restore has not finished).",
        "Restore a copy first: " + _RESTORE + ", then load it again once the restore has finished (minutes to "
        "hours from Glacier Flexible Retrieval, up to 48 hours from Deep Archive).",
    ),
    "ArchivedObjects": (
        "{archived_summary} of {where} {archived_are} archived{storage_class_note}, and S3 serves an archived "
        "object only once a copy of it has been restored: {archived_list}. {archived_outcome}",
        "{archived_alternative}restore them, e.g. " + _RESTORE + " for each (for many, an S3 Batch Operations "
        "restore job), then load again once the restores have finished (minutes to hours; up to 48 hours from "
        "Deep Archive).",
    ),
    "PreconditionFailed": (
        "The object changed while it was being read.",
        "Run the cell again.",
    ),
    "ObjectChanged": (
        "{where} was replaced while it was being downloaded, twice in a row.",
        "Wait until whatever writes the object has finished, then run the cell again.",
    ),
    "EndlessListing": (
        "{message}. A listing that went on would never finish, so it was stopped.",
        "This is the server's fault, not the data's: if it is an S3-compatible store, report it; list a "
        "narrower prefix, or name the objects one by one.",
    ),
    "InvalidRange": (
        "S3 refused the byte range asked for {where}.",
        "Run the cell again; if it persists, the object may have shrunk while it was being read.",
    ),
    "InvalidUri": (
        "{message}",
        "Write the location as s3://bucket/path/to/file.parquet.",
    ),
    "InvalidBucketName": (
        "{message}",
        "Check the bucket name: 3-63 lowercase letters, digits, dots and hyphens.",
    ),
    "InvalidArn": (
        "{message}",
        "Write an access point's ARN as s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/key (an Object Lambda "
        "access point's with arn:aws:s3-object-lambda:, a Multi-Region Access Point's as "
        "arn:aws:s3::ACCOUNT:accesspoint/ALIAS.mrap), or use the access point's alias as the bucket: s3://ALIAS/key.",
    ),
    "ArnWithEndpoint": (
        "{message}",
        "For an S3-compatible store, write its bucket's name: s3://bucket/key. For AWS, drop --endpoint-url (and "
        "unset AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL): the access point's ARN says where it is.",
    ),
    "NeedsCRT": (
        "{message}. Nothing was sent.",
        "Install it where the kernel runs: pip install 'botocore[crt]' (or pip install awscrt), then restart the "
        "kernel (botocore looks for it once, when it is imported).{instead_note}",
    ),
    "NotImplemented": (
        "The S3 endpoint{at_endpoint} does not implement a feature the request used.",
        "If this is an S3-compatible store, report it; try without ?versionId=.",
    ),
}

# Throttling codes share one text.
for _code in ("ServiceUnavailable", "Throttling", "ThrottlingException", "ThrottledException",
              "RequestThrottled", "RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
              "BandwidthLimitExceeded", "ProvisionedThroughputExceededException", "EC2ThrottledException"):
    EXPLANATIONS[_code] = EXPLANATIONS["SlowDown"]
EXPLANATIONS["RequestTimeoutException"] = EXPLANATIONS["RequestTimeout"]
EXPLANATIONS["TemporaryRedirect"] = EXPLANATIONS["PermanentRedirect"]
del _code

#: When the code has no entry: per class.
FALLBACK: dict[type[S3Error], tuple[str, str]] = {
    S3UriError: ("{message}", "Write the location as s3://bucket/path/to/file.parquet."),
    S3AuthError: (
        "S3 refused the request for {where} (HTTP {status}){who}: the credentials are missing, invalid "
        "or not allowed to read it.{requester_pays_note}",
        "Check which identity is used with `aws sts get-caller-identity{profile_flag}` and that it may "
        "s3:GetObject on {object_arn}; for a public bucket use --anon.{requester_pays_fix}",
    ),
    S3NotFound: (
        "{where} does not exist (HTTP 404).",
        "Check the bucket and key for typos; keys are case-sensitive.",
    ),
    S3RateLimit: EXPLANATIONS["SlowDown"],
    S3RegionError: (
        "The request went to the wrong region for bucket {bucket}{bucket_region_note}.",
        "Pass the bucket's region with --region {region_example}.",
    ),
    S3NetworkError: (
        "The network failed while talking to S3{at_endpoint} {attempts_text}.",
        "Check the network connection and proxy settings, then run the cell again.",
    ),
    S3FormatError: ("{message}", "Check the file, or name its format with --format."),
    S3TooLarge: (
        "Loading {where} needs more memory than is available.",
        "Read less of it with --columns a,b and --nrows N, use dask for the whole of it, or load it anyway "
        "with --force (force=True) if you know it fits.",
    ),
    S3CacheError: EXPLANATIONS["CacheNotPrivate"],
    S3ArchivedError: EXPLANATIONS["InvalidObjectState"],
    S3GenericError: (
        "S3 answered with an error{code_note}: {message}",
        "Run the cell again; if it persists, look up the S3 error code in the AWS documentation.",
    ),
}
