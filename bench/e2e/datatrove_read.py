"""How datatrove's WarcReader copes with the corrupted corpus: reads every WET file of a folder with
one task and reports the documents it yields per file, or the exception that stopped the file.

Usage: datatrove_read.py INPUT_DIR
"""

import glob
import json
import os
import sys

from datatrove.pipeline.readers import WarcReader


def main():
    inp = sys.argv[1]
    out = {}
    for path in sorted(glob.glob(os.path.join(inp, "*.warc.wet.gz"))):
        reader = WarcReader(inp, glob_pattern=os.path.basename(path))
        n = 0
        try:
            for _ in reader.read_file(os.path.basename(path)):
                n += 1
            out[os.path.basename(path)] = {"docs": n}
        except Exception as e:  # noqa: BLE001 - the point is to see what stops it
            out[os.path.basename(path)] = {"docs": n, "error": f"{type(e).__name__}: {e}"[:200]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
