"""Exports a small packed layout with the ism CLI, verifies each file, and runs the
loader examples on it.

    python3 run_examples.py --cli build/test/tools/ism [--format F ...] [--engine MODE]

For every paradigm and every chosen format (all by default), it writes the
format's file and the intervals file with `ism export`, checks the file with
`ism verify` (the library's decoder against the contract, which must say
equal), then runs load_<format>.py on it. A format that cannot hold a
paradigm's mask (cu_seqlens under prefix, ism and bidirectional-roles:tool)
must be refused: `ism export` exits 2 and leaves no file. It exits 0 when all
pass, 1 at the first failure, and 77 (skipped) when an example cannot run at
all. The test suite runs it once per format; it needs nothing but the Python
standard library itself.
"""

import argparse
import contextlib
import pathlib
import subprocess
import sys
import tempfile

EXIT_CANNOT_RUN = 77

# Four documents: consecutive context segments, a one-token context segment
# (which hf and vllm do not list as a block), a document that is all answer (it
# has no prefix), and a length of 92, which the block sizes below do not divide.
LAYOUT = ("system:8,user:12,assistant:20,user:6,assistant:10 | user:16,assistant:8 | "
          "tool:3,user:1,assistant:5 | assistant:3")
# The four built-in paradigms and one of the data-driven family, which makes only
# the tool segment of the third document a bidirectional block.
PARADIGMS = ("causal", "prefix", "ism", "bidirectional", "bidirectional-roles:tool")

# format: (file suffix, the option sets to export it with, one file per set)
FORMAT_OPTIONS = {
    "dense": (".npy", ([], ["--dtype", "uint8"])),
    "additive": (".npy", ([], ["--dtype", "float16"], ["--dtype", "bfloat16"])),
    "intervals": (".npz", ([],)),
    "flex": (".npz", (["--block", "16,8"], [])),
    "flashinfer": (".npz", ([],)),
    "flashmask": (".npy", ([],)),
    "hf": (".npy", ([],)),
    "vllm": (".npy", ([],)),
    "llamacpp": (".npy", ([], ["--dtype", "float32", "--pad", "64"])),
    "cu_seqlens": (".npy", ([],)),
    "flashinfer_ranges": (".npz", ([],)),
    "cudnn_endpoints": (".npz", ([],)),
    "magi": (".npz", ([],)),
    "vllm_ids": (".npy", ([],)),
    "fa4_block_sparse": (".npz", ([], ["--block", "256,128"])),
}

# The paradigms each format refuses on LAYOUT. cu_seqlens holds only masks that
# are causal or fully bidirectional within every document.
REFUSED = {"cu_seqlens": ("prefix", "ism", "bidirectional-roles:tool")}

# What the ism CLI exits with on an error, a refused export included.
EXIT_ERROR = 2

HERE = pathlib.Path(__file__).resolve().parent


class Failed(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def run(command, expected_status: int = 0) -> None:
    print("$ " + " ".join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    print(result.stdout, end="", flush=True)
    if result.returncode != expected_status:
        if expected_status != 0:
            print(f"run_examples: expected exit status {expected_status}, "
                  f"got {result.returncode}")
        raise Failed(result.returncode if result.returncode != 0 else 1)


def file_name(paradigm: str) -> str:
    """A paradigm's name as part of a file name: bidirectional-roles:tool has a ':'."""
    return paradigm.replace(":", "-").replace(",", "-")


def check_format(cli: str, fmt: str, engine: str, work: pathlib.Path) -> None:
    suffix, option_sets = FORMAT_OPTIONS[fmt]
    for paradigm in PARADIGMS:
        common = [cli, "export", "--layout", LAYOUT, "--paradigm", paradigm]
        verify = [cli, "verify", "--layout", LAYOUT, "--paradigm", paradigm, "--format", fmt]
        if paradigm in REFUSED.get(fmt, ()):
            refused = work / f"{file_name(paradigm)}.{fmt}{suffix}"
            run(common + ["--format", fmt, "-o", refused], expected_status=EXIT_ERROR)
            if refused.exists():
                print(f"run_examples: the refused export left {refused} behind")
                raise Failed(1)
            continue
        intervals = work / f"{file_name(paradigm)}.intervals.npz"
        run(common + ["--format", "intervals", "-o", intervals])
        for number, options in enumerate(option_sets):
            exported = work / f"{file_name(paradigm)}.{fmt}.{number}{suffix}"
            run(common + ["--format", fmt] + options + ["-o", exported])
            run(verify + ["--file", exported])
            if fmt == "intervals":
                checks = ["--layout", LAYOUT, "--paradigm", paradigm]
            else:
                checks = ["--intervals", intervals]
            # -B: importing ism_exports must not leave __pycache__ in the source tree.
            run([sys.executable, "-B", HERE / f"load_{fmt}.py", exported, *checks,
                 "--engine", engine])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the ism executable")
    parser.add_argument("--format", action="append", choices=sorted(FORMAT_OPTIONS),
                        help="a format to check (repeatable; default: all)")
    parser.add_argument("--engine", choices=("auto", "off", "required"), default="auto",
                        help="passed to the examples: use the engine when it can run (auto), "
                             "never (off), or skip when it cannot (required)")
    parser.add_argument("--work-dir", help="where to write the exports (default: a temporary "
                                           "directory, removed afterwards)")
    args = parser.parse_args()
    formats = args.format or list(FORMAT_OPTIONS)
    place = (contextlib.nullcontext(args.work_dir) if args.work_dir
             else tempfile.TemporaryDirectory())
    try:
        with place as directory:
            work = pathlib.Path(directory)
            work.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                check_format(args.cli, fmt, args.engine, work)
    except Failed as failure:
        if failure.status == EXIT_CANNOT_RUN:
            print(f"run_examples: skipped, the example cannot run here (exit {EXIT_CANNOT_RUN})")
            return EXIT_CANNOT_RUN
        print(f"run_examples: FAILED with exit status {failure.status}")
        return 1
    print(f"run_examples: {', '.join(formats)}: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
