"""The demo's sample data: what each object holds (:data:`DATASETS`) and its bytes (:func:`sample_objects`), made
from seeded random numbers, the same on every run."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DATASETS", "Dataset", "sample_objects"]


@dataclass(frozen=True)
class Dataset:
    """One object the demo seeds: where it lives, what it holds, and how it is encoded."""

    label: str
    key: str
    rows: int | None
    columns: tuple[str, ...]
    content_type: str
    description: str


# fmt: off
_TRIPS = ("pickup_at", "dropoff_at", "passenger_count", "trip_distance", "fare_amount", "tip_amount",
          "payment_type", "pickup_zone")
_READINGS = ("ts", "sensor_id", "temperature_c", "humidity_pct", "pressure_hpa")

#: Everything the demo server seeds (:meth:`dreambolt_magic.notebook.demo.DemoServer.seed`), in order. ``rows``
#: is ``None`` for the broken object.
DATASETS: tuple[Dataset, ...] = (
    Dataset("parquet", "trips.parquet", 50_000, _TRIPS, "application/vnd.apache.parquet",
            "taxi trips, January 2024 (Parquet, snappy)"),
    Dataset("csv.gz", "sales/2024/sales.csv.gz", 20_000,
            ("order_id", "order_date", "region", "product", "units", "unit_price", "revenue"),
            "application/gzip", "retail orders, 2024 (CSV, gzip)"),
    Dataset("jsonl", "events.jsonl", 10_000, ("ts", "user_id", "event", "device", "duration_ms"),
            "application/x-ndjson", "app events over one week (JSON Lines)"),
    Dataset("tsv", "stations.tsv", 40, ("station_id", "name", "borough", "lat", "lon", "elevation_m"),
            "text/tab-separated-values", "weather stations (TSV)"),
    Dataset("json", "weather.json", 365,
            ("date", "station_id", "temp_min_c", "temp_max_c", "precip_mm", "wind_kph", "conditions"),
            "application/json", "daily weather, 2023 (JSON array of records)"),
    Dataset("feather", "trips.feather", 5_000, _TRIPS, "application/vnd.apache.arrow.file",
            "the first 5,000 taxi trips (Feather v2 / Arrow IPC, lz4)"),
    Dataset("csv.zst", "readings.csv.zst", 8_000, _READINGS, "application/zstd",
            "sensor readings (CSV, zstd)"),
    Dataset("csv.bz2", "readings.csv.bz2", 8_000, _READINGS, "application/x-bzip2",
            "the same sensor readings (CSV, bzip2)"),
    Dataset("csv.xz", "readings.csv.xz", 8_000, _READINGS, "application/x-xz",
            "the same sensor readings (CSV, xz)"),
    Dataset("broken", "broken/not-really.parquet", None, (), "application/vnd.apache.parquet",
            "CSV text behind a .parquet name, to show a format error"),
)
# fmt: on


# fmt: off
_ZONES = ("Upper East Side South", "Upper East Side North", "Midtown Center", "Midtown East",
          "Times Sq/Theatre District", "Union Sq", "Murray Hill", "Lincoln Square East", "East Village",
          "Clinton East", "Penn Station/Madison Sq West", "Upper West Side South", "Gramercy",
          "Lenox Hill West", "East Chelsea", "West Village", "Greenwich Village North", "JFK Airport",
          "LaGuardia Airport", "Yorkville West", "Financial District North", "Battery Park City",
          "Williamsburg (North Side)", "Astoria", "Park Slope", "Long Island City/Hunters Point")
_PAYMENTS = ("credit_card", "cash", "no_charge", "dispute")
_REGIONS = ("North", "South", "East", "West", "Central")
_PRODUCTS = {"Laptop": 1099.0, "Monitor": 249.0, "Keyboard": 49.5, "Mouse": 24.99, "Headphones": 89.0,
             "Webcam": 64.0, "Dock": 179.0, "USB-C Cable": 12.5, "Desk Lamp": 39.9, "Chair": 329.0}
_EVENTS = ("app_open", "screen_view", "click", "search", "add_to_cart", "purchase", "app_close")
_DEVICES = ("ios", "android", "web")
_BOROUGHS = ("Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island")
# fmt: on


def _rng(salt: int) -> Any:
    import numpy as np

    return np.random.default_rng([20240101, salt])


def _trips(n: int = 50_000) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = _rng(1)
    start = pd.Timestamp("2024-01-01")
    seconds = np.sort(rng.integers(0, 31 * 86_400, n))
    pickup = start + pd.to_timedelta(seconds, unit="s")
    distance = np.round(rng.lognormal(0.6, 0.7, n), 2)
    minutes = distance * rng.uniform(2.5, 5.0, n) + rng.uniform(1, 6, n)
    fare = np.round(3.0 + 2.5 * distance + 0.5 * minutes, 2)
    payment = rng.choice(_PAYMENTS, n, p=[0.72, 0.25, 0.02, 0.01])
    tip_rate = np.where(payment == "credit_card", rng.choice([0.0, 0.15, 0.2, 0.25], n), 0.0)
    dropoff = pickup + pd.to_timedelta(np.round(minutes * 60), unit="s")
    return pd.DataFrame(
        {
            "pickup_at": pickup.astype("datetime64[us]"),
            "dropoff_at": dropoff.astype("datetime64[us]"),
            "passenger_count": rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.7, 0.15, 0.06, 0.04, 0.03, 0.02]),
            "trip_distance": distance,
            "fare_amount": fare,
            "tip_amount": np.round(fare * tip_rate, 2),
            "payment_type": payment,
            "pickup_zone": rng.choice(_ZONES, n),
        }
    )


def _sales(n: int = 20_000) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = _rng(2)
    product = rng.choice(list(_PRODUCTS), n)
    units = rng.integers(1, 21, n)
    price = np.array([_PRODUCTS[p] for p in product])
    days = np.sort(rng.integers(0, 366, n))
    return pd.DataFrame(
        {
            "order_id": [f"SO-{i:06d}" for i in range(1, n + 1)],
            "order_date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
            "region": rng.choice(_REGIONS, n),
            "product": product,
            "units": units,
            "unit_price": price,
            "revenue": np.round(units * price, 2),
        }
    )


def _events(n: int = 10_000) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = _rng(3)
    ms = np.sort(rng.integers(0, 7 * 86_400_000, n))
    ts = pd.Timestamp("2024-03-04") + pd.to_timedelta(ms, unit="ms")
    return pd.DataFrame(
        {
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
            "user_id": [f"u{u:05d}" for u in rng.integers(1, 1_500, n)],
            "event": rng.choice(_EVENTS, n, p=[0.12, 0.38, 0.25, 0.1, 0.08, 0.03, 0.04]),
            "device": rng.choice(_DEVICES, n, p=[0.45, 0.4, 0.15]),
            "duration_ms": np.round(rng.lognormal(6.0, 1.2, n)).astype("int64"),
        }
    )


def _stations(n: int = 40) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = _rng(4)
    return pd.DataFrame(
        {
            "station_id": [f"NYC{i:03d}" for i in range(1, n + 1)],
            "name": [f"{_ZONES[i % len(_ZONES)]} {i}" for i in range(n)],
            "borough": rng.choice(_BOROUGHS, n),
            "lat": np.round(rng.uniform(40.55, 40.9, n), 5),
            "lon": np.round(rng.uniform(-74.1, -73.75, n), 5),
            "elevation_m": np.round(rng.uniform(2, 120, n), 1),
        }
    )


def _weather(n: int = 365) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = _rng(5)
    day = np.arange(n)
    mean = 12.5 - 11.0 * np.cos(2 * np.pi * (day - 15) / 365) + rng.normal(0, 2.5, n)
    spread = rng.uniform(4, 11, n)
    precip = np.where(rng.random(n) < 0.3, np.round(rng.gamma(1.2, 6.0, n), 1), 0.0)
    dry = rng.choice(["clear", "partly cloudy", "cloudy", "fog"], n, p=[0.4, 0.3, 0.25, 0.05])
    conditions = np.where(precip > 0, np.where(mean < 1, "snow", "rain"), dry)
    return pd.DataFrame(
        {
            "date": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "station_id": "NYC001",
            "temp_min_c": np.round(mean - spread / 2, 1),
            "temp_max_c": np.round(mean + spread / 2, 1),
            "precip_mm": precip,
            "wind_kph": np.round(rng.gamma(3.0, 4.5, n), 1),
            "conditions": conditions,
        }
    )


def _readings(n: int = 8_000) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = _rng(6)
    sensors = 8
    ts = pd.date_range("2024-06-01", periods=n // sensors, freq="15min").repeat(sensors)
    return pd.DataFrame(
        {
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S"),
            "sensor_id": np.tile([f"s-{i:02d}" for i in range(1, sensors + 1)], n // sensors),
            "temperature_c": np.round(21 + 3 * np.sin(np.arange(n) / 400) + rng.normal(0, 0.4, n), 2),
            "humidity_pct": np.round(np.clip(rng.normal(48, 9, n), 5, 99), 1),
            "pressure_hpa": np.round(rng.normal(1013, 6, n), 1),
        }
    )


def _zstd(data: bytes) -> bytes:
    import pyarrow as pa

    # pyarrow ships zstd; the zstandard package would be one more dependency for one demo file.
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return bytes(sink.getvalue())


def _csv(df: pd.DataFrame, sep: str = ",") -> bytes:
    return df.to_csv(index=False, sep=sep, lineterminator="\n").encode()


def sample_objects() -> dict[str, bytes]:
    """The bytes of every object in :data:`DATASETS`, by key, in that order.

    The same bytes on every call with the same library versions (Parquet and Feather record the
    writer's version); nothing is cached, so each call takes about half a second.
    """
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    trips = pa.Table.from_pandas(_trips(), preserve_index=False)
    parquet, ipc = io.BytesIO(), io.BytesIO()
    pq.write_table(trips, parquet, compression="snappy")
    feather.write_feather(trips.slice(0, 5_000), ipc, compression="lz4")
    readings = _csv(_readings())
    bodies = {
        "trips.parquet": parquet.getvalue(),
        # mtime=0: gzip stamps the time into its header, and the demo bytes should not change.
        "sales/2024/sales.csv.gz": gzip.compress(_csv(_sales()), mtime=0),
        "events.jsonl": _events().to_json(orient="records", lines=True).encode(),
        "stations.tsv": _csv(_stations(), sep="\t"),
        "weather.json": _weather().to_json(orient="records", indent=1).encode(),
        "trips.feather": ipc.getvalue(),
        "readings.csv.zst": _zstd(readings),
        "readings.csv.bz2": bz2.compress(readings),
        "readings.csv.xz": lzma.compress(readings),
        "broken/not-really.parquet": _csv(_stations().head(5)),
    }
    return {dataset.key: bodies[dataset.key] for dataset in DATASETS}
