"""SQL literals and identifiers, quoted in one place, and the one table-existence check.

Every SQL builder of the project quotes through these functions; nothing else escapes SQL text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any


def quote_ident(name: str) -> str:
    """A DuckDB identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str | Path) -> str:
    """A DuckDB string literal (a path is quoted as its text)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_dec(value: Decimal | int | float) -> str:
    """An exact DECIMAL literal (scale at least 2)."""
    dec = Decimal(str(value))
    exponent = dec.as_tuple().exponent
    scale = max(2, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return f"CAST('{dec}' AS DECIMAL(18,{min(scale, 12)}))"


def sql_date(value: dt.date) -> str:
    """A DuckDB DATE literal."""
    return f"DATE '{value.isoformat()}'"


def table_exists_sql(name: str) -> str:
    """SQL counting the tables or views called ``name`` on the connection (0 or more)."""
    return f"SELECT count(*) FROM information_schema.tables WHERE table_name = {quote_str(name)}"


def table_exists(con: Any, name: str) -> bool:
    """True if a table or view (temporary included) called ``name`` exists on the DuckDB connection ``con``."""
    row = con.execute(table_exists_sql(name)).fetchone()
    return bool(row and row[0])
