"""Loads an `ism export --format intervals` file and checks it.

    python3 load_intervals.py mask.npz [--layout L --paradigm P]

The archive holds int64 lo [N] and hi [N]: query q sees keys lo[q]..hi[q]. It is
the smallest exact form of the mask and the reference the other examples check
against, so this example checks it in turn against the table of
docs/semantics.md#paradigms-and-the-segment-function, computed here from the
layout text (the four built-in paradigms and bidirectional-roles:ROLE[,ROLE...]). Any engine with an on-the-fly mask predicate can use
it; with torch installed, this example builds a FlexAttention block mask from it
with create_block_mask and compares flex_attention with a dense-mask SDPA.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing


def run_flex(lo, hi) -> None:
    torch = ie.import_optional("torch")
    flex = ie.import_optional("torch.nn.attention.flex_attention")
    if torch is None or flex is None:
        ie.skipped("torch with FlexAttention")
        return
    n = lo.size
    mask_mod = ie.interval_mask_mod(torch.from_numpy(lo), torch.from_numpy(hi))
    block_mask = flex.create_block_mask(mask_mod, 1, 1, n, n, device="cpu", BLOCK_SIZE=16)
    visible = ie.visible_from_intervals(lo, hi)
    q, k, v = ie.random_qkv(n)
    out = ie.eager_flex_attention(flex, *(torch.from_numpy(x) for x in (q, k, v)),
                                  block_mask=block_mask)
    ie.check_close(f"torch {torch.__version__} flex_attention with a mask_mod over lo and hi",
                   out.numpy(), ie.reference_attention(q, k, v, visible), 1e-5)


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the intervals .npz export",
                                with_intervals=False)
    parser.add_argument("--layout", help="the layout it was exported from, to check it against")
    parser.add_argument("--paradigm", help="the paradigm it was exported for: "
                        f"{', '.join(ie.PARADIGMS)} or {ie.BIDIRECTIONAL_ROLES}ROLE[,ROLE...]")
    args = ie.parse_args(parser)
    if (args.layout is None) != (args.paradigm is None):
        parser.error("--layout and --paradigm go together")

    lo, hi = ie.read_intervals(args.export)
    cu_seqlens = ie.cu_seqlens_from_intervals(lo)
    ie.ok(f"intervals for {lo.size} tokens in {cu_seqlens.size - 1} documents")
    if args.layout is not None:
        expected_lo, expected_hi = ie.intervals_from_layout(args.layout, args.paradigm)
        ie.check_equal("lo vs docs/semantics.md", lo, expected_lo)
        ie.check_equal("hi vs docs/semantics.md", hi, expected_hi)
        ie.ok(f"lo and hi are those of docs/semantics.md for {args.paradigm} over the layout")
    if ie.engine_enabled():
        run_flex(lo, hi)


if __name__ == "__main__":
    ie.run(main)
