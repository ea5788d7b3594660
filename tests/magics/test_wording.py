"""Counts in what the magics print agree with their nouns: "1 object", "1 row x 1 column", "2 objects"."""

from __future__ import annotations

from typing import Any

import pandas as pd
from helpers import to_bytes
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

BUCKET = "count"


def test_a_set_of_one_object_of_one_row_and_column(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "one/a.csv", to_bytes(pd.DataFrame({"a": [1]}), "csv"))
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/one/")
    assert cap.stdout.startswith(f"Loaded s3://{BUCKET}/one/ (1 object): 1 row x 1 column · "), cap.stdout
    found = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/one/")
    assert str(found).startswith(f"s3://{BUCKET}/one/: 1 object · ")


def test_a_sample_from_one_object_and_two(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "s/a.csv", to_bytes(pd.DataFrame({"a": [1, 2]}), "csv"))
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --sample 1", f"s3://{BUCKET}/s/")
    assert "(sample: the first 1 row, from 1 object): 1 row x 1 column" in cap.stdout, cap.stdout
    s3.put(BUCKET, "s/b.csv", to_bytes(pd.DataFrame({"a": [3, 4]}), "csv"))
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/s/")
    assert "(2 objects): 4 rows x 1 column" in cap.stdout, cap.stdout
