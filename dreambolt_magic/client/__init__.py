"""The client layer: connections, the one funnel every S3 call goes through (retry, translation, redirect),
bucket regions and the redaction of secrets from logs. It imports nothing of the package above it."""
