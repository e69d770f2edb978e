"""DataFrames in and out of the native module: a DataFrame's columns checked and written as
the CSV text that the crate's reader parses (so that every check and message is the
reader's), and the native module's column dicts made into DataFrames."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

_COLUMNS = ("subject", "session", "trial", "state", "action", "reward", "next_state")
_INTEGER_COLUMNS = ("trial", "state", "action", "next_state")


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
        return col.astype("Int64")
    return col


def frame_to_csv(frame: pd.DataFrame) -> str:
    """The CSV text of `frame`'s known columns (others are ignored), in row order, for the
    crate's reader. Row p of the frame is line p + 2 of the text."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    present = [c for c in _COLUMNS if c in frame.columns]
    out = pd.DataFrame(index=frame.index)
    for c in present:
        out[c] = _integral(frame, c) if c in _INTEGER_COLUMNS else frame[c]
    if "reward" in present and out["reward"].dtype.kind not in "fiuO":
        if out["reward"].dtype.kind == "b":
            raise TypeError("column `reward` is boolean: give rewards as numbers")
    buffer = io.StringIO()
    # repr-exact floats: pandas writes the shortest round-trip form of each float.
    out.to_csv(buffer, index=False, na_rep="NA", lineterminator="\n")
    return buffer.getvalue()


def frame(columns: dict) -> pd.DataFrame:
    """A DataFrame from the native module's dict of equal-length columns."""
    return pd.DataFrame(columns)
