"""DataFrames in and out of the native module: a DataFrame's columns checked and written as
the CSV text that the crate's reader parses (so that every check and message is the
reader's), and the native module's column dicts made into DataFrames."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

_COLUMNS = ("subject", "session", "trial", "state", "action", "reward", "next_state")
_INTEGER_COLUMNS = ("trial", "state", "action", "next_state")
# Ids: a float column of whole numbers (a NaN made pandas read 1, 2 as 1.0, 2.0) is written
# as integers, so that its ids are those of the file ("1", not "1.0").
_ID_COLUMNS = ("subject", "session")
# The largest whole number a float holds exactly: beyond it, "whole" means nothing.
_EXACT = 2.0**53


def _integral(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as nullable integers: integer dtypes as they are, floats whose values are
    whole numbers (NaN: missing), text as it is (the reader checks it). A float column
    holding a non-integral value, or a boolean column, is refused naming the row."""
    col = frame[column]
    kind = col.dtype.kind
    if kind == "b":
        raise TypeError(
            f"column `{column}` is boolean: give it as integers (0, 1, ...), not True/False"
        )
    if kind in "iu":
        return col
    if kind == "f":
        values = col.to_numpy(dtype=float)
        bad = np.isfinite(values) & (values != np.round(values))
        bad |= np.isinf(values)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"DataFrame row {position} (index {frame.index[position]}), column "
                f"`{column}`: value `{values[position]}` is not a whole number"
            )
        big = np.isfinite(values) & (np.abs(values) > _EXACT)
        if big.any():
            position = int(np.flatnonzero(big)[0])
            raise ValueError(
                f"DataFrame row {position} (index {frame.index[position]}), column "
                f"`{column}`: value `{values[position]}` is too large to be an index"
            )
        return col.astype("Int64")
    return col


def _ids(frame: pd.DataFrame, column: str) -> pd.Series:
    """An id column: a float column of whole numbers as integers (NaN stays missing, and the
    reader refuses an empty subject); any other column as it is."""
    col = frame[column]
    if col.dtype.kind == "f":
        values = col.to_numpy(dtype=float)
        finite = np.isfinite(values)
        if np.all(values[finite] == np.round(values[finite])) and np.all(
            np.abs(values[finite]) <= _EXACT
        ):
            return col.astype("Int64")
    return col


def frame_to_csv(frame: pd.DataFrame) -> str:
    """The CSV text of `frame`'s known columns (others are ignored), in row order, for the
    crate's reader. Row p of the frame is line p + 2 of the text."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    duplicated = [str(c) for c in frame.columns[frame.columns.duplicated()]]
    if duplicated:
        raise ValueError(
            f"DataFrame column `{duplicated[0]}` appears twice: which one holds the data is "
            "ambiguous"
        )
    present = [c for c in _COLUMNS if c in frame.columns]
    out = pd.DataFrame(index=frame.index)
    for c in present:
        if c in _INTEGER_COLUMNS:
            out[c] = _integral(frame, c)
        elif c in _ID_COLUMNS:
            out[c] = _ids(frame, c)
        else:
            out[c] = frame[c]
    if "reward" in present and out["reward"].dtype.kind == "b":
        raise TypeError("column `reward` is boolean: give rewards as numbers")
    buffer = io.StringIO()
    # repr-exact floats: pandas writes the shortest round-trip form of each float. A missing
    # value is an empty field, as in a file: a missed trial's action, no next state, and an
    # empty subject (which the reader refuses, naming the row).
    out.to_csv(buffer, index=False, na_rep="", lineterminator="\n")
    return buffer.getvalue()


def dataset_frame(columns: dict) -> pd.DataFrame:
    """`Dataset.to_frame`: the native columns in the layout `from_frame` reads."""
    out = pd.DataFrame(columns)
    out["trial"] = out["trial"] + 1
    out["action"] = out["action"].astype(float).where(out["action"] >= 0)
    if (out["next_state"] < 0).all():
        out = out.drop(columns=["next_state"])
    else:
        out["next_state"] = out["next_state"].astype("Int64").where(out["next_state"] >= 0)
    return out


def frame(columns: dict) -> pd.DataFrame:
    """A DataFrame from the native module's dict of equal-length columns."""
    return pd.DataFrame(columns)
