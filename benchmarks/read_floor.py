"""The read floor: read every sheet of every workbook in a folder with fastexcel into polars, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import fastexcel


def main(folder: Path) -> None:
    rows = 0
    for path in sorted(folder.rglob("*.xlsx")):
        reader = fastexcel.read_excel(path)
        for name in reader.sheet_names:
            frame = reader.load_sheet(name, header_row=None).to_polars()
            rows += frame.height
    print(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
