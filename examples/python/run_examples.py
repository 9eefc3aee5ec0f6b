"""Exports a small packed layout with the ism CLI and runs the loader examples on it.

    python3 run_examples.py --cli build/test/tools/ism [--format F ...] [--engine MODE]

For every paradigm and every chosen format (all by default), it writes the
format's file and the intervals file with `ism export`, then runs
load_<format>.py on them. It exits 0 when all pass, 1 at the first failure, and
77 (skipped) when an example cannot run at all. The test suite runs it once per
format; it needs nothing but the Python standard library itself.
"""

import argparse
import contextlib
import pathlib
import subprocess
import sys
import tempfile

EXIT_CANNOT_RUN = 77

# Four documents: consecutive context segments, a one-token context segment,
# a document that is all answer (it has no prefix), and a length of 92, which
# the block sizes below do not divide.
LAYOUT = ("system:8,user:12,assistant:20,user:6,assistant:10 | user:16,assistant:8 | "
          "tool:3,user:1,assistant:5 | assistant:3")
PARADIGMS = ("causal", "prefix", "ism", "bidirectional")

# format: (file suffix, the option sets to export it with, one file per set)
FORMATS = {
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
}

HERE = pathlib.Path(__file__).resolve().parent


class Failed(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def run(command) -> None:
    print("$ " + " ".join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise Failed(result.returncode)


def check_format(cli: str, fmt: str, engine: str, work: pathlib.Path) -> None:
    suffix, option_sets = FORMATS[fmt]
    for paradigm in PARADIGMS:
        common = [cli, "export", "--layout", LAYOUT, "--paradigm", paradigm]
        intervals = work / f"{paradigm}.intervals.npz"
        run(common + ["--format", "intervals", "-o", intervals])
        for number, options in enumerate(option_sets):
            exported = work / f"{paradigm}.{fmt}.{number}{suffix}"
            run(common + ["--format", fmt] + options + ["-o", exported])
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
    parser.add_argument("--format", action="append", choices=sorted(FORMATS),
                        help="a format to check (repeatable; default: all)")
    parser.add_argument("--engine", choices=("auto", "off", "required"), default="auto",
                        help="passed to the examples: use the engine when it can run (auto), "
                             "never (off), or skip when it cannot (required)")
    parser.add_argument("--work-dir", help="where to write the exports (default: a temporary "
                                           "directory, removed afterwards)")
    args = parser.parse_args()
    formats = args.format or list(FORMATS)
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
