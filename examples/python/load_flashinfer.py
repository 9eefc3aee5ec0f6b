"""Loads an `ism export --format flashinfer` file and checks it.

    python3 load_flashinfer.py custom_mask.npz --intervals mask.npz

The archive is FlashInfer's custom mask with one request per document:
qo_indptr = kv_indptr (int32 [R+1]) are the document starts, and request r's
[L, L] mask, flattened row-major (query outer, key inner), is packed eight bits
a byte, least significant bit first, into packed_mask (uint8) from byte
mask_indptr[r] (int32, byte offsets; each request starts on a byte boundary,
unused high bits are 0). Queries and keys of a request are numbered from the
document's first token.

With flashinfer and a CUDA device, the example plans a
BatchPrefillWithRaggedKVCacheWrapper with the unpacked mask as custom_mask and
compares its output with a reference. It passes custom_mask, not
packed_custom_mask: given a packed mask, plan() derives mask_indptr itself from
qo_indptr and kv_indptr in bits while the kernel reads byte offsets, which agree
for a single request only. It also checks that flashinfer's own
segment_packbits packs that mask into exactly packed_mask and mask_indptr.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np

NAMES = ("packed_mask", "mask_indptr", "qo_indptr", "kv_indptr")


def decode(arrays, cu_seqlens: np.ndarray):
    """The per-request [L, L] masks, checked byte by byte."""
    packed = arrays["packed_mask"]
    ie.expect_array(packed, "packed_mask", ("|u1",), 1)
    for name in NAMES[1:]:
        ie.expect_array(arrays[name], name, ("<i4",), 1)
    ie.check_equal("qo_indptr vs document starts", arrays["qo_indptr"], cu_seqlens)
    ie.check_equal("kv_indptr vs document starts", arrays["kv_indptr"], cu_seqlens)
    lengths = np.diff(cu_seqlens)
    ie.check_equal("mask_indptr", arrays["mask_indptr"],
                   np.concatenate(([0], np.cumsum((lengths * lengths + 7) // 8))))
    ie.check_equal("packed_mask size", packed.size, arrays["mask_indptr"][-1])

    masks = []
    for r, length in enumerate(lengths.tolist()):
        bits = np.unpackbits(packed[arrays["mask_indptr"][r]:arrays["mask_indptr"][r + 1]],
                             bitorder="little")
        if np.any(bits[length * length:]):
            raise ie.CheckFailed(f"request {r}: the unused bits of its last byte are not 0")
        masks.append(bits[:length * length].reshape(length, length).astype(bool))
    return masks


def block_diagonal(masks, n: int) -> np.ndarray:
    visible = np.zeros((n, n), dtype=bool)
    start = 0
    for mask in masks:
        end = start + mask.shape[0]
        visible[start:end, start:end] = mask
        start = end
    return visible


def run_flashinfer(arrays, masks, visible) -> None:
    flashinfer = ie.import_optional("flashinfer")
    if flashinfer is None:
        ie.skipped("flashinfer")
        return
    torch = ie.import_optional("torch")
    if not torch.cuda.is_available():
        ie.skipped("flashinfer", "needs a CUDA device")
        return
    device = torch.device("cuda")
    custom_mask = torch.from_numpy(np.concatenate([m.ravel() for m in masks])).to(device)
    qo_indptr = torch.from_numpy(arrays["qo_indptr"]).to(device)
    kv_indptr = torch.from_numpy(arrays["kv_indptr"]).to(device)

    bits_indptr = torch.from_numpy(np.concatenate(
        ([0], np.cumsum([m.size for m in masks])))).to(device=device, dtype=torch.int32)
    quantization = ie.import_optional("flashinfer.quantization")
    packed, byte_indptr = quantization.segment_packbits(custom_mask, bits_indptr,
                                                        bitorder="little")
    ie.check_equal("flashinfer segment_packbits vs packed_mask", packed.cpu().numpy(),
                   arrays["packed_mask"])
    ie.check_equal("flashinfer segment_packbits indptr vs mask_indptr",
                   byte_indptr.cpu().numpy().astype(np.int32), arrays["mask_indptr"])

    heads, dim = 2, 64  # FlashInfer kernels take head_dim 64, 128 or 256
    workspace = torch.empty(128 * 1024 * 1024, dtype=torch.uint8, device=device)
    wrapper = flashinfer.BatchPrefillWithRaggedKVCacheWrapper(workspace, "NHD")
    wrapper.plan(qo_indptr, kv_indptr, heads, heads, dim, custom_mask=custom_mask,
                 q_data_type=torch.float16)
    q, k, v = ie.random_qkv(visible.shape[0], heads, dim)
    # FlashInfer's ragged layout is [tokens, heads, dim].
    out = wrapper.run(*(torch.from_numpy(x[0].transpose(1, 0, 2).copy()).to(device).half()
                        for x in (q, k, v)))
    ie.check_close(f"flashinfer {flashinfer.__version__} ragged prefill with the custom mask",
                   out.float().cpu().numpy().transpose(1, 0, 2)[None],
                   ie.reference_attention(q, k, v, visible), 2e-2)


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the flashinfer .npz export")
    args = ie.parse_args(parser)
    arrays = ie.load_npz(args.export, NAMES)
    lo, hi = ie.read_intervals(args.intervals)
    visible = ie.visible_from_intervals(lo, hi)
    masks = decode(arrays, ie.cu_seqlens_from_intervals(lo))
    ie.check_equal("flashinfer requests vs intervals", block_diagonal(masks, lo.size), visible)
    ie.ok(f"flashinfer custom mask of {len(masks)} requests, {arrays['packed_mask'].size} "
          "bytes, matches the intervals")
    if ie.engine_enabled():
        run_flashinfer(arrays, masks, visible)


if __name__ == "__main__":
    ie.run(main)
