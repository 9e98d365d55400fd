"""What the benchmark report writers share: medians, the machine's CPU name, and rewriting
one marked section of BENCHMARKS.md (imported by scripts/bench-*-report.py)."""

import pathlib
import re
import statistics

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nFigures measured on the project's machines; each section names the "
    "command that regenerates it.\n"
)


def median(values):
    return statistics.median(values) if values else float("nan")


def cpu_model():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def write_section(begin, end, section, first=False):
    """Replaces the text from `begin` to `end` in BENCHMARKS.md with `section` (which carries
    both markers); a missing section is added at the end, or before the first section when
    `first`. Returns the file's path."""
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: section, current)
    elif first and "\n<!--" in current:
        head, _, rest = current.partition("\n<!--")
        current = head.rstrip("\n") + "\n\n" + section + "\n\n<!--" + rest
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    BENCHMARKS.write_text(current)
    return BENCHMARKS
