"""An independent pure-NumPy oracle of docs/semantics.md, for the package tests.

Nothing here imports ism: a layout is a list of documents, each a list of
(role, length) pairs with role one of ROLES, and a paradigm is its name
("causal", "prefix", "ism", "bidirectional" or "bidirectional-roles:ROLES").
Every function is written from the contract, by brute force where that is
simplest, so that it can disagree with the library.
"""

import random
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

ROLES = ("system", "user", "tool", "assistant")
SHORT = {"s": "system", "u": "user", "t": "tool", "a": "assistant"}
CONTEXT = ("system", "user", "tool")

Document = List[Tuple[str, int]]
Layout = List[Document]

PARADIGMS = ("causal", "prefix", "ism", "bidirectional", "bidirectional-roles:tool",
             "bidirectional-roles:tool,user", "bidirectional-roles:assistant",
             "bidirectional-roles:system,user,tool")


@dataclass
class Token:
    d0: int
    d1: int
    s0: int
    s1: int
    role: str
    P: int          # first token of the document's trailing answer (d1 if none)
    document: int
    segment: int    # numbered over the row
    position: int   # inside the document


def tokens(layout: Layout) -> List[Token]:
    out: List[Token] = []
    start, segment = 0, 0
    for d, doc in enumerate(layout):
        d1 = start + sum(n for _, n in doc)
        # The trailing answer: the longest run of assistant segments that ends the document.
        P = d1
        for role, n in reversed(doc):
            if role != "assistant":
                break
            P -= n
        s0 = start
        for role, n in doc:
            for t in range(s0, s0 + n):
                out.append(Token(start, d1, s0, s0 + n, role, P, d, segment, t - start))
            s0 += n
            segment += 1
        start = d1
    return out


def length(layout: Layout) -> int:
    return sum(n for doc in layout for _, n in doc)


def bidirectional_roles(paradigm: str) -> Optional[set]:
    if not paradigm.startswith("bidirectional-roles:"):
        return None
    return {SHORT.get(r, r) for r in paradigm.split(":", 1)[1].split(",")}


def intervals(layout: Layout, paradigm: str) -> Tuple[np.ndarray, np.ndarray]:
    """(lo, hi) int64: the table of docs/semantics.md#paradigms-and-the-segment-function."""
    ts = tokens(layout)
    lo = np.array([t.d0 for t in ts], dtype=np.int64)
    hi = np.empty(len(ts), dtype=np.int64)
    listed = bidirectional_roles(paradigm)
    for q, t in enumerate(ts):
        if paradigm == "causal":
            hi[q] = q
        elif paradigm == "bidirectional":
            hi[q] = t.d1 - 1
        elif paradigm == "prefix":
            hi[q] = max(q, t.P - 1)
        elif paradigm == "ism":
            hi[q] = t.s1 - 1 if t.role in CONTEXT else q
        elif listed is not None:
            hi[q] = t.s1 - 1 if t.role in listed else q
        else:
            raise ValueError(f"oracle: unknown paradigm {paradigm}")
    return lo, hi


def visible_matrix(lo: np.ndarray, hi: np.ndarray, chunk=None) -> np.ndarray:
    n = len(lo)
    q0, q1, k0, k1 = (0, n, 0, n) if chunk is None else chunk
    q = np.arange(q0, q1)[:, None]
    k = np.arange(k0, k1)[None, :]
    return (lo[q] <= k) & (k <= hi[q])


def dense(layout: Layout, paradigm: str, chunk=None) -> np.ndarray:
    """visible(q, k) = lo(q) <= k <= hi(q), queries [q0, q1) x keys [k0, k1)."""
    # From the per-token facts: same document and inside the interval.
    ts = tokens(layout)
    lo, hi = intervals(layout, paradigm)
    doc = np.array([t.document for t in ts], dtype=np.int64)
    n = len(ts)
    q0, q1, k0, k1 = (0, n, 0, n) if chunk is None else chunk
    q = np.arange(q0, q1)[:, None]
    k = np.arange(k0, k1)[None, :]
    return (doc[q] == doc[k]) & (lo[q] <= k) & (k <= hi[q])


def additive(mask: np.ndarray, dtype=np.float32) -> np.ndarray:
    return np.where(mask, 0.0, -np.inf).astype(dtype)


# --- labels, density, training cost, reusable prefix ---------------------------------------

@dataclass
class Labels:
    trainable: np.ndarray
    leaking: np.ndarray
    answer_targets: int
    trainable_count: int


def labels_of(layout: Layout, lo: np.ndarray, hi: np.ndarray) -> Labels:
    ts = tokens(layout)
    n = len(ts)
    trainable = np.zeros(n, dtype=bool)
    leaking = []
    targets = 0
    for q in range(n):
        has_target = q + 1 < n and ts[q + 1].document == ts[q].document \
            and ts[q + 1].role == "assistant"
        if not has_target:
            continue
        targets += 1
        if lo[q] <= hi[q] and hi[q] >= q + 1:
            leaking.append(q)
        else:
            trainable[q] = True
    return Labels(trainable, np.array(leaking, dtype=np.int64), targets, targets - len(leaking))


def labels(layout: Layout, paradigm: str) -> Labels:
    return labels_of(layout, *intervals(layout, paradigm))


def pairs(lo: np.ndarray, hi: np.ndarray) -> int:
    return int(np.maximum(hi - lo + 1, 0).sum())


def density(layout: Layout, paradigm: str) -> dict:
    """{'tokens', 'visible_pairs', 'density', 'documents': [...]} counted from the dense mask."""
    m = dense(layout, paradigm)
    n = len(m)
    docs, start = [], 0
    for doc in layout:
        L = sum(x for _, x in doc)
        v = int(m[start:start + L].sum())
        docs.append({"tokens": L, "visible_pairs": v, "density": v / (L * L)})
        start += L
    v = int(m.sum())
    return {"tokens": n, "visible_pairs": v, "density": v / (n * n), "documents": docs}


def _answer_leaks(layout: Layout, lo, hi, begin: int, end: int) -> bool:
    """Does an answer [begin, end) have a target that leaks: a position q with
    q + 1 in the answer (and in its document) that sees q + 1?"""
    ts = tokens(layout)
    for t in range(max(begin, 1), end):
        q = t - 1
        if ts[q].document == ts[t].document and lo[q] <= hi[q] and hi[q] >= t:
            return True
    return False


def training_cost(layout: Layout, paradigm: str) -> dict:
    """docs/semantics.md#training-cost, by building every sample (brute force)."""
    lo, hi = intervals(layout, paradigm)
    answers = []  # (document index, segment index within the document, begin, end)
    start = 0
    for d, doc in enumerate(layout):
        s0 = start
        for s, (role, n) in enumerate(doc):
            if role == "assistant":
                answers.append((d, s, s0, s0 + n))
            s0 += n
        start = s0
    if paradigm == "prefix":
        scheme = "one_sample_per_answer"
    elif paradigm in ("causal", "ism"):
        scheme = "one_pass"
    else:
        scheme = "one_pass" if len(labels_of(layout, lo, hi).leaking) == 0 \
            else "one_sample_per_answer"
    if scheme == "one_pass":
        untrainable = sum(_answer_leaks(layout, lo, hi, b, e) for _, _, b, e in answers)
        return {"scheme": scheme, "samples": 1, "tokens": length(layout),
                "attention_pairs": pairs(lo, hi), "answer_segments": len(answers),
                "untrainable_segments": untrainable}
    total_tokens = total_pairs = untrainable = 0
    for d, s, b, e in answers:
        sample = [layout[d][:s + 1]]
        slo, shi = intervals(sample, paradigm)
        L = length(sample)
        total_tokens += L
        total_pairs += int(dense(sample, paradigm).sum())
        untrainable += _answer_leaks(sample, slo, shi, L - (e - b), L)
    return {"scheme": scheme, "samples": len(answers), "tokens": total_tokens,
            "attention_pairs": total_pairs, "answer_segments": len(answers),
            "untrainable_segments": untrainable}


def prefix_sample_pairs(L: int, P: int) -> int:
    """The closed form of docs/semantics.md#training-cost for one prefix sample."""
    return P * P + (L * (L + 1) - P * (P + 1)) // 2


def extends(a: Layout, b: Layout) -> bool:
    """docs/semantics.md#reusable-kv-prefix: B starts with A's documents and
    segments, the last segment of A possibly longer in B."""
    if len(b) < len(a):
        return False
    for d, doc in enumerate(a):
        other = b[d]
        last_doc = d == len(a) - 1
        if len(other) < len(doc) or (not last_doc and len(other) != len(doc)):
            return False
        for s, (role, n) in enumerate(doc):
            r2, n2 = other[s]
            last = last_doc and s == len(doc) - 1
            if r2 != role or (n2 != n if not last else n2 < n):
                return False
    return True


def reusable_prefix(a: Layout, b: Layout, paradigm: str) -> int:
    assert extends(a, b)
    la, ha = intervals(a, paradigm)
    lb, hb = intervals(b, paradigm)
    n = length(a)
    for r in range(n, -1, -1):
        ok = True
        for j in range(r):
            empty_a, empty_b = la[j] > ha[j], lb[j] > hb[j]
            same = (empty_a and empty_b) or (la[j] == lb[j] and ha[j] == hb[j])
            if not same or (not empty_a and ha[j] >= r):
                ok = False
                break
        if ok:
            return r
    return 0


# --- block classification ----------------------------------------------------------------

def tile_classes(lo: np.ndarray, hi: np.ndarray, block: Tuple[int, int], chunk=None) -> np.ndarray:
    """(QB, KB) array of 'empty' / 'partial' / 'full' by brute force over the
    tile's pairs, positions past the chunk counting as hidden."""
    n = len(lo)
    q0, q1, k0, k1 = (0, n, 0, n) if chunk is None else chunk
    bq, bk = block
    m = visible_matrix(lo, hi, (q0, q1, k0, k1))
    QB, KB = -(-(q1 - q0) // bq), -(-(k1 - k0) // bk)
    out = np.empty((QB, KB), dtype=object)
    for i in range(QB):
        for j in range(KB):
            tile = m[i * bq:(i + 1) * bq, j * bk:(j + 1) * bk]
            ragged = tile.shape != (bq, bk)
            if not tile.any():
                out[i, j] = "empty"
            elif tile.all() and not ragged:
                out[i, j] = "full"
            else:
                out[i, j] = "partial"
    return out


def csr(classes: np.ndarray, kind: str, transpose: bool = False):
    """(offsets, indices) listing, per row of `classes` (per column when
    transposed), the ascending blocks of class `kind`."""
    grid = classes.T if transpose else classes
    offsets, indices = [0], []
    for row in grid:
        hits = [j for j, c in enumerate(row) if c == kind]
        indices.extend(hits)
        offsets.append(len(indices))
    return np.array(offsets, dtype=np.int64), np.array(indices, dtype=np.int32)


# --- attention -----------------------------------------------------------------------------

def attention(q, k, v, mask: np.ndarray, scale=None):
    """softmax(scale Q K^T + M) V in float64 with a (Nq, Nk) bool mask; rows
    that see nothing give zeros and -inf. Returns (out (Nq, H, D), lse (Nq, H))."""
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    nq, h, d = q.shape
    hkv = k.shape[1]
    group = h // hkv
    s = 1.0 / np.sqrt(d) if scale is None else scale
    out = np.zeros((nq, h, d))
    lse = np.full((nq, h), -np.inf)
    for head in range(h):
        kh, vh = k[:, head // group], v[:, head // group]
        logits = s * q[:, head] @ kh.T
        logits = np.where(mask, logits, -np.inf)
        for r in range(nq):
            if not mask[r].any():
                continue
            m = logits[r].max()
            w = np.exp(logits[r] - m)
            lse[r, head] = m + np.log(w.sum())
            out[r, head] = (w / w.sum()) @ vh
    return out, lse


# --- random layouts and text ---------------------------------------------------------------

def random_layout(rng: random.Random, max_documents: int = 4, max_segments: int = 5,
                  max_length: int = 12) -> Layout:
    """Several documents of every role, lengths 1..max_length, with occasional
    adjacent segments of one role and documents that end in a context role."""
    layout = []
    for _ in range(rng.randint(1, max_documents)):
        doc = []
        for _ in range(rng.randint(1, max_segments)):
            if doc and rng.random() < 0.15:
                role = doc[-1][0]                      # two adjacent segments of one role
            else:
                role = rng.choice(ROLES + ("assistant",))
            doc.append((role, rng.randint(1, max_length)))
        layout.append(doc)
    return layout


def random_layouts(seed: int, count: int, **kwargs) -> List[Layout]:
    rng = random.Random(seed)
    return [random_layout(rng, **kwargs) for _ in range(count)]


def text(layout: Layout) -> str:
    """The canonical text form: full role names, ', ' and ' | '."""
    return " | ".join(", ".join(f"{r}:{n}" for r, n in doc) for doc in layout)


def varied_text(layout: Layout, rng: random.Random) -> str:
    """The same layout with short role names and whitespace where the grammar allows it."""
    ws = lambda: rng.choice(["", "", " ", "\t", "\n", "  "])  # noqa: E731
    docs = []
    for doc in layout:
        segs = []
        for r, n in doc:
            name = r[0] if rng.random() < 0.5 else r
            segs.append(f"{ws()}{name}{ws()}:{ws()}{n}{ws()}")
        docs.append(",".join(segs))
    return "|".join(docs)


def role_ids(layout: Layout) -> np.ndarray:
    return np.array([ROLES.index(t.role) for t in tokens(layout)], dtype=np.int32)


def merged(layout: Layout) -> Layout:
    """Adjacent segments of one role joined, as Layout.from_roles reads them."""
    out = []
    for doc in layout:
        m: Document = []
        for r, n in doc:
            if m and m[-1][0] == r:
                m[-1] = (r, m[-1][1] + n)
            else:
                m.append((r, n))
        out.append(m)
    return out
