"""WET reading with Python peers on the same files: warcio and fastwarc (records iterated, content read).

Seconds are the process's CPU time (both peers are single-threaded), as read-bench reports its own.

Usage: python peers.py FILE... ; prints one JSON line per peer (best of 3 runs)."""
import json
import sys
import time


def run_warcio(files):
    from warcio.archiveiterator import ArchiveIterator
    docs = 0
    for f in files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "conversion":
                    rec.content_stream().read().decode("utf-8", "replace")
                    docs += 1
    return docs


def run_fastwarc(files):
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    docs = 0
    for f in files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh, record_types=WarcRecordType.conversion):
                rec.reader.read().decode("utf-8", "replace")
                docs += 1
    return docs


def main():
    files = sys.argv[1:]
    for name, fn in [("warcio", run_warcio), ("fastwarc", run_fastwarc)]:
        try:
            best = float("inf")
            docs = 0
            for _ in range(3):
                t = time.process_time()
                docs = fn(files)
                best = min(best, time.process_time() - t)
            print(json.dumps({"name": name, "seconds": round(best, 4), "docs": docs}))
        except ImportError as e:
            print(json.dumps({"name": name, "error": str(e)}))


if __name__ == "__main__":
    main()
