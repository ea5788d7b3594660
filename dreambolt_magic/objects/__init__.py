"""The objects layer: the load of one object, from its plan (the ranges a Parquet or text read needs) and the
parse overlapped with its download to the local cache."""
