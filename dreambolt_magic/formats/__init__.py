"""The formats layer: which format bytes are, their readers, Arrow-to-pandas frames, Parquet footer helpers
and row-group statistics. Pure: no S3 requests."""
