"""The ORC reader, with pyarrow's ORC support: only the columns asked for are decoded, and with ``nrows`` only
the stripes that hold those first rows. Registered in :data:`dreambolt_magic.formats.readers.READERS`. No I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.formats.request import Request

__all__ = ["read_orc"]


def read_orc(request: Request) -> pd.DataFrame:
    """An ORC file's frame, for the columns and first rows asked; read options go to ``Table.to_pandas``."""
    import pyarrow.orc  # only when an ORC file is read

    file = pyarrow.orc.ORCFile(request.source())
    schema = file.schema
    # pyarrow refuses an absent column with a bare KeyError: require() names it and the columns there are.
    request = request.require(schema.names)
    columns = request.columns
    if request.nrows is None:
        return request.frame(file.read(columns=columns))
    stripes = (file.read_stripe(i, columns=columns) for i in range(file.nstripes))
    taken = request.first(stripes)
    empty = schema.empty_table()
    table = pa.Table.from_batches(taken) if taken else empty.select(columns) if columns else empty
    return request.frame(table.slice(0, request.nrows))
