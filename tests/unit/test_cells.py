"""The cell text the panel writes after a load (``dreambolt_magic.notebook.cells``): a ``%%s3ingest`` cell, or
a ``dreambolt_magic.load()`` call when the magic cannot name a column. No I/O, no widgets.

A written cell is read back the way it would be run: its magic line by the magic's own argument parser, its
body by the magic's ``{name}`` substitution, a Python cell by :mod:`ast`.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest
from IPython.core.magic_arguments import parse_argstring

from dreambolt_magic.notebook.body import substitute
from dreambolt_magic.notebook.cells import PanelRequest, equivalent_cell
from dreambolt_magic.notebook.magics import S3IngestMagics

NO_SETTINGS: dict[str, Any] = {"endpoint_url": None, "region": None, "profile": None, "anon": False}


def request(uri: str = "s3://bkt/data.csv", *, name: str = "df", format: str | None = None,
            columns: list[str] | None = None, nrows: int | None = None, **settings: Any) -> PanelRequest:
    return PanelRequest(name, uri, format, columns, nrows, {**NO_SETTINGS, **settings})


def read_magic_cell(text: str) -> tuple[Any, str]:
    """The arguments the magic parses from the cell's first line, and the URI its body names (braces
    substituted as the magic does, from an empty namespace)."""
    first, _, body = text.partition("\n")
    assert first.startswith("%%s3ingest ")
    args = parse_argstring(S3IngestMagics.s3ingest, first.removeprefix("%%s3ingest "))
    return args, substitute(body, {})


def read_python_cell(text: str) -> tuple[str, str, dict[str, Any]]:
    """``(variable, uri, keyword arguments)`` of the ``name = dreambolt_magic.load(uri, ...)`` cell."""
    module = ast.parse(text)
    imported, assigned = module.body
    assert isinstance(imported, ast.Import) and imported.names[0].name == "dreambolt_magic"
    assert isinstance(assigned, ast.Assign) and isinstance(assigned.value, ast.Call)
    call = assigned.value
    assert ast.unparse(call.func) == "dreambolt_magic.load"
    (target,) = assigned.targets
    assert isinstance(target, ast.Name)
    (uri,) = [ast.literal_eval(a) for a in call.args]
    return target.id, uri, {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}


# --- a %%s3ingest cell ---------------------------------------------------------------------------------


def test_the_plainest_load_is_the_variable_and_the_uri() -> None:
    assert equivalent_cell(request()) == "%%s3ingest df\ns3://bkt/data.csv"


def test_every_option_is_rendered_as_the_flag_the_magic_reads() -> None:
    cell = equivalent_cell(request("s3://bkt/t.parquet", name="trips", format="parquet", columns=["b", "a"],
                                   nrows=7, endpoint_url="http://127.0.0.1:9000", region="eu-west-1",
                                   profile="dev", anon=True))
    assert cell.splitlines()[0] == ("%%s3ingest trips --format parquet --columns b,a --nrows 7 "
                                    "--endpoint-url http://127.0.0.1:9000 --region eu-west-1 --profile dev --anon")
    args, uri = read_magic_cell(cell)
    assert (args.target, args.format, args.columns, args.nrows) == ("trips", "parquet", "b,a", 7)
    assert (args.endpoint_url, args.region, args.profile, args.anon) == ("http://127.0.0.1:9000", "eu-west-1",
                                                                         "dev", True)
    assert uri == "s3://bkt/t.parquet"


def test_zero_rows_is_an_option_too() -> None:
    args, _ = read_magic_cell(equivalent_cell(request(nrows=0)))
    assert args.nrows == 0


def test_settings_the_configuration_already_gives_are_left_out() -> None:
    defaults = {"endpoint_url": "http://127.0.0.1:9000", "region": "eu-west-1", "anon": True}
    same = request(endpoint_url="http://127.0.0.1:9000", region="eu-west-1", anon=True)
    assert equivalent_cell(same, defaults) == "%%s3ingest df\ns3://bkt/data.csv"
    other = request(endpoint_url="http://127.0.0.1:9001", region="eu-west-1", profile="dev", anon=True)
    args, _ = read_magic_cell(equivalent_cell(other, defaults))
    assert (args.endpoint_url, args.region, args.profile, args.anon) == ("http://127.0.0.1:9001", None, "dev", None)


def test_an_endpoints_user_info_is_not_written_into_the_cell() -> None:
    # botocore never sends it; a cell is kept and shared with the notebook.
    with_password = request(endpoint_url="http://user:hunter2@127.0.0.1:9000")
    cell = equivalent_cell(with_password)
    assert "hunter2" not in cell
    assert read_magic_cell(cell)[0].endpoint_url == "http://127.0.0.1:9000"
    assert equivalent_cell(with_password, {"endpoint_url": "http://user:pw@127.0.0.1:9000"}) == (
        "%%s3ingest df\ns3://bkt/data.csv")
    python = equivalent_cell(request(columns=["a b"], endpoint_url="http://user:hunter2@127.0.0.1:9000"))
    assert "hunter2" not in python and read_python_cell(python)[2]["endpoint_url"] == "http://127.0.0.1:9000"


def test_requester_pays_is_a_flag_unless_the_configuration_says_so() -> None:
    paid = request(requester_pays=True)
    args, _ = read_magic_cell(equivalent_cell(paid))
    assert args.requester_pays is True
    assert equivalent_cell(paid, {"requester_pays": True}) == "%%s3ingest df\ns3://bkt/data.csv"
    assert read_magic_cell(equivalent_cell(request()))[0].requester_pays is None


@pytest.mark.parametrize("uri", [
    "s3://bkt/odd {dir}/my data.csv",
    "s3://bkt/{{already doubled}}.csv",
    "s3://bkt/}{.csv",
    "s3://bkt/a b/c d e.csv",
    "s3://bkt/it's \"quoted\".csv",
    "s3://bkt/100%/$HOME/x,y.csv",
])
def test_an_odd_key_stays_in_the_body_and_reads_back_as_itself(uri: str) -> None:
    # The body is not split into arguments, so blanks and quotes need nothing; braces are doubled, since the
    # magic fills {name} from the namespace there.
    cell = equivalent_cell(request(uri, columns=["a"]))
    assert cell.startswith("%%s3ingest df --columns a\n")
    _, read = read_magic_cell(cell)
    assert read == uri


# --- a dreambolt_magic.load() call --------------------------------------------------------------------


# IPython expands {name} and $name on a magic's line, and the magic's parser takes "-x" for an option.
@pytest.mark.parametrize("column", ["unit price", "a,b", "it's", 'say "x"', "back\\slash", "tab\there", "a{b}",
                                    "{b}", "$HOME", "cost$", "-x", "-1"])
def test_a_column_the_magic_cannot_name_gives_the_python_call(column: str) -> None:
    cell = equivalent_cell(request("s3://bkt/odd {dir}.parquet", columns=[column, "qty"], nrows=3,
                                   endpoint_url="http://127.0.0.1:9000"))
    assert not cell.startswith("%%")
    name, uri, options = read_python_cell(cell)
    assert (name, uri) == ("df", "s3://bkt/odd {dir}.parquet")  # Python has no braces to double
    assert options == {"columns": [column, "qty"], "nrows": 3, "endpoint_url": "http://127.0.0.1:9000"}


def test_a_setting_the_magic_cannot_take_gives_the_python_call_with_every_setting_used() -> None:
    # The loader reads no configuration: what the magic would have from it is spelt out.
    cell = equivalent_cell(request("s3://bkt/k.csv", format="csv", profile="my profile", region="eu-west-1",
                                   anon=True), {"region": "eu-west-1"})
    name, uri, options = read_python_cell(cell)
    assert (name, uri) == ("df", "s3://bkt/k.csv")
    assert options == {"format": "csv", "profile": "my profile", "region": "eu-west-1", "anon": True}


def test_what_was_not_given_is_not_written() -> None:
    _, _, options = read_python_cell(equivalent_cell(request(columns=["a b"])))
    assert options == {"columns": ["a b"]}
