"""What grows when Python objects do not: the mapping from /proc/self/smaps, the extension
loaded last, and the memray command line that would confirm it."""

from __future__ import annotations

import shlex
import sys

from memwarden.units import format_bytes

ARG_CHARS = 60  # a `python -c` program in the command line is cut to this


def mapping_growth(before: dict[str, int], after: dict[str, int]) -> tuple[str, int] | None:
    """The mapping that grew most (name, bytes), if any grew."""
    grown = [(after[name] - before.get(name, 0), name) for name in after]
    grown = [g for g in grown if g[0] > 0]
    if not grown:
        return None
    size, name = max(grown)
    return name, size


def memray_command(argv: list[str] | None = None) -> str:
    """`memray run --native ...` for this program, from the interpreter's own command line."""
    words = list(sys.orig_argv if argv is None else argv)[1:]
    options = ["memray", "run", "--native", "--follow-fork", "-o", "memwarden-leak.bin"]
    if words and words[0] in ("-m", "-c") and len(words) > 1:
        program = [words[0], words[1], *words[2:]]
    else:
        program = [w for w in words if not w.startswith("-X")] or ["your_program.py"]
    flat = [" ".join(w.split()) for w in program]
    shown = [w if len(w) <= ARG_CHARS else w[:ARG_CHARS - 3] + "..." for w in flat]
    return shlex.join([*options, *shown])


def describe_native(kind: str, growth: tuple[str, int] | None, extension: str | None,
                    command: str) -> str:
    where = (f"the {growth[0]} mapping grew {format_bytes(growth[1])}" if growth is not None
             else "no mapping stood out")
    suspect = f"; extension loaded last: {extension}" if extension else ""
    what = "native memory grows" if kind == "native" else "the allocator retains freed memory"
    return f"{what}: {where}{suspect}; confirm with `{command}`"
