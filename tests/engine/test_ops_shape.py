"""Shape, indexing, joining and scatter ops against torch.autograd in float64:
values, gradients and second derivatives on hypothesis-drawn shapes (size-1 and
zero-size axes included).

These ops are linear, so their second derivatives are zero; the check still runs
(a backward that is not itself differentiable, or one that leaks a graph, shows up).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.functional as F
from minigrad.testing import check_parity, randn, rng_of
from minigrad.testing.strategies import broadcastable_shapes, seeds, shapes


# ------------------------------------------------------------------- reshaping
def _prime_factors(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def reshape_case(draw):
    """A shape and another shape with the same number of elements (maybe with a -1)."""
    shape = draw(shapes())
    numel = int(np.prod(shape))
    ndim = draw(st.integers(0 if numel == 1 else 1, 4))
    if numel == 0:
        target = [draw(st.integers(0, 3)) for _ in range(ndim)]
        target[draw(st.integers(0, ndim - 1))] = 0
        return shape, tuple(target)
    target = [1] * ndim
    for p in _prime_factors(numel):
        target[draw(st.integers(0, ndim - 1))] *= p
    if ndim and draw(st.booleans()):
        target[draw(st.integers(0, ndim - 1))] = -1
    return shape, tuple(target)


@given(case=reshape_case(), seed=seeds())
def test_reshape(case, seed):
    shape, target = case
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.reshape(x, target), lambda x: torch.reshape(x, target), [x],
                 seed=seed)
    check_parity(lambda x: x.reshape(*target), lambda x: x.reshape(target), [x], seed=seed)
    check_parity(lambda x: x.view(target), lambda x: x.reshape(target), [x], seed=seed)


@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_transpose(shape, seed, data):
    ndim = len(shape)
    d0 = data.draw(st.integers(-ndim, ndim - 1))
    d1 = data.draw(st.integers(-ndim, ndim - 1))
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.transpose(x, d0, d1), lambda x: torch.transpose(x, d0, d1),
                 [x], seed=seed)
    if ndim >= 2:
        check_parity(lambda x: x.transpose(), lambda x: x.transpose(-2, -1), [x], seed=seed)
        check_parity(lambda x: x.mT, lambda x: x.mT, [x], seed=seed)


@given(shape=shapes(), seed=seeds(), data=st.data())
def test_permute(shape, seed, data):
    ndim = len(shape)
    perm = data.draw(st.permutations(range(ndim)))
    perm = [p - ndim if data.draw(st.booleans()) else p for p in perm]
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.permute(x, perm), lambda x: torch.permute(x, perm), [x],
                 seed=seed)
    check_parity(lambda x: x.permute(*perm), lambda x: x.permute(perm), [x], seed=seed)
    # numpy's .T reverses all axes (torch's x.T is deprecated beyond 2-D)
    check_parity(lambda x: x.T, lambda x: x.permute(tuple(reversed(range(ndim)))), [x], seed=seed)


@st.composite
def broadcast_case(draw):
    shape = draw(shapes(max_dims=3, max_side=3))
    lead = [draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2)))]
    target = [draw(st.integers(0, 3)) if s == 1 and draw(st.booleans()) else s
              for s in shape]
    return shape, tuple(lead + target)


@given(case=broadcast_case(), seed=seeds())
def test_broadcast_to(case, seed):
    shape, target = case
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.broadcast_to(x, target),
                 lambda x: torch.broadcast_to(x, target), [x], seed=seed)
    check_parity(lambda x: x.expand(target), lambda x: x.expand(target), [x], seed=seed)


@given(shape=shapes(min_dims=1, max_side=2), seed=seeds(), data=st.data())
def test_squeeze(shape, seed, data):
    ndim = len(shape)
    dim = data.draw(st.one_of(
        st.none(), st.integers(-ndim, ndim - 1),
        st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                 unique_by=lambda d: d % ndim).map(tuple)))
    x = randn(rng_of(seed), shape)
    th = (lambda x: torch.squeeze(x)) if dim is None else (lambda x: torch.squeeze(x, dim))
    check_parity(lambda x: mg.squeeze(x, dim), th, [x], seed=seed)
    check_parity(lambda x: x.squeeze(dim), th, [x], seed=seed)


@given(shape=shapes(), seed=seeds(), data=st.data())
def test_unsqueeze(shape, seed, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim - 1, ndim))
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.unsqueeze(x, dim), lambda x: torch.unsqueeze(x, dim), [x],
                 seed=seed)
    check_parity(lambda x: x.unsqueeze(dim), lambda x: x.unsqueeze(dim), [x], seed=seed)


@given(shape=shapes(), seed=seeds(), data=st.data())
def test_flatten(shape, seed, data):
    ndim = len(shape)
    n = max(ndim, 1)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(-n, n - 1))
    assume(start % n <= end % n)
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.flatten(x, start, end),
                 lambda x: torch.flatten(x, start, end), [x], seed=seed)
    check_parity(lambda x: x.flatten(), lambda x: x.flatten(), [x], seed=seed)


# -------------------------------------------------------------------- indexing
@st.composite
def slice_for(draw, n, allow_negative_step=True):
    step = draw(st.sampled_from([1, 2, 3, -1, -2] if allow_negative_step else [1, 2, 3]))
    bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
    return slice(draw(bound), draw(bound), draw(st.sampled_from([None, step])) if step == 1
                 else step)


@st.composite
def basic_key(draw):
    """Slices (negative steps too), ints, None and Ellipsis."""
    shape = draw(shapes(min_dims=1))
    parts, axis = [], 0
    used_ellipsis = False
    while axis < len(shape) and draw(st.booleans()) or not parts:
        if axis >= len(shape):
            parts.append(None)
            break
        kind = draw(st.sampled_from(["slice", "slice", "int", "none", "ellipsis"]))
        if kind == "int" and shape[axis] > 0:
            parts.append(draw(st.integers(-shape[axis], shape[axis] - 1)))
            axis += 1
        elif kind == "none":
            parts.append(None)
        elif kind == "ellipsis" and not used_ellipsis:
            parts.append(Ellipsis)
            used_ellipsis = True
            axis = len(shape)  # nothing after it is aimed at a known axis; stop
        else:
            parts.append(draw(slice_for(shape[axis])))
            axis += 1
    return shape, tuple(parts)


def _axes_of(key, ndim):
    """The input axis each key entry applies to (None for None/Ellipsis)."""
    consuming = sum(1 for k in key if k is not None and k is not Ellipsis
                    and not (isinstance(k, np.ndarray) and k.dtype == bool))
    consuming += sum(k.ndim for k in key if isinstance(k, np.ndarray) and k.dtype == bool)
    out, axis = [], 0
    for k in key:
        if k is None:
            out.append(None)
        elif k is Ellipsis:
            out.append(None)
            axis += ndim - consuming
        elif isinstance(k, np.ndarray) and k.dtype == bool:
            out.append(axis)
            axis += k.ndim
        else:
            out.append(axis)
            axis += 1
    return out


def torch_indexer(key, shape):
    """torch equivalent of a numpy key: torch has no negative slice steps, so such
    an axis is flipped first and indexed with the mirrored positive-step slice."""
    flips, tkey = [], []
    for k, axis in zip(key, _axes_of(key, len(shape))):
        if isinstance(k, slice) and k.step is not None and k.step < 0:
            n = shape[axis]
            idx = np.arange(n)[k]
            flips.append(axis)
            if len(idx) == 0:
                tkey.append(slice(0, 0))
            else:
                tkey.append(slice(int(n - 1 - idx[0]), int(n - idx[-1]), -k.step))
        elif isinstance(k, np.ndarray):
            tkey.append(torch.from_numpy(k.copy()))
        else:
            tkey.append(k)

    def index(t):
        if flips:
            t = torch.flip(t, flips)
        return t[tuple(tkey)]
    return index


@given(case=basic_key(), seed=seeds())
def test_getitem_basic(case, seed):
    shape, key = case
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: x[key], torch_indexer(key, shape), [x], seed=seed)


@given(shape=shapes(min_dims=1, min_side=1), seed=seeds(), data=st.data())
def test_getitem_negative_steps(shape, seed, data):
    key = tuple(data.draw(slice_for(n)) for n in shape)
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: x[key], torch_indexer(key, shape), [x], seed=seed)
    full_reverse = (slice(None, None, -1),) * len(shape)
    check_parity(lambda x: x[full_reverse], lambda x: torch.flip(x, list(range(len(shape)))),
                 [x], seed=seed)


@st.composite
def advanced_key(draw):
    """Integer arrays (repeats, negative entries) on some axes, slices on others.

    No plain ints next to arrays: there numpy (and so minigrad) and torch place
    the result axes differently (x[1, :, idx] is (len(idx), n1) in numpy and
    (n1, len(idx)) in torch); minigrad follows numpy there.
    """
    shape = draw(shapes(min_dims=1, min_side=1))
    rng = rng_of(draw(seeds()))
    index_shape = draw(shapes(min_dims=1, max_dims=2, max_side=4))
    parts = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        if draw(st.booleans()) or not any(isinstance(p, np.ndarray) for p in parts):
            parts.append(rng.integers(-n, n, size=index_shape))
        else:
            parts.append(draw(slice_for(n, allow_negative_step=False)))
    if draw(st.booleans()):
        parts.append(Ellipsis)
    return shape, tuple(parts)


@given(case=advanced_key(), seed=seeds())
def test_getitem_integer_arrays(case, seed):
    """Repeated indices: their gradients add up (scatter-add backward)."""
    shape, key = case
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: x[key], torch_indexer(key, shape), [x], seed=seed)


@given(shape=shapes(min_dims=1, min_side=1), seed=seeds(), k=st.integers(1, 8))
def test_getitem_index_list_and_tensor(shape, seed, k):
    rng = rng_of(seed)
    idx = rng.integers(0, shape[0], size=k)
    x = randn(rng, shape)
    check_parity(lambda x: x[idx.tolist()], lambda x: x[idx.tolist()], [x], seed=seed)
    check_parity(lambda x: x[mg.tensor(idx)], lambda x: x[torch.from_numpy(idx)], [x],
                 seed=seed)


@st.composite
def mask_key(draw):
    """A boolean mask over some consecutive axes, slices (negative steps too) around it."""
    shape = draw(shapes(min_dims=1))
    rng = rng_of(draw(seeds()))
    start = draw(st.integers(0, len(shape) - 1))
    stop = draw(st.integers(start + 1, len(shape)))
    mask = rng.random(shape[start:stop]) < draw(st.sampled_from([0.0, 0.5, 1.0]))
    parts = [draw(slice_for(n)) for n in shape[:start]] + [mask]
    parts += [draw(slice_for(n)) for n in shape[stop:stop + draw(st.integers(0, 2))]]
    return shape, tuple(parts)


@given(case=mask_key(), seed=seeds())
def test_getitem_boolean_mask(case, seed):
    shape, key = case
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: x[key], torch_indexer(key, shape), [x], seed=seed)


@given(shape=shapes(min_dims=0), seed=seeds())
def test_getitem_full_mask(shape, seed):
    rng = rng_of(seed)
    x = randn(rng, shape)
    mask = np.asarray(rng.random(shape) < 0.5)
    check_parity(lambda x: x[mask], lambda x: x[torch.from_numpy(mask)], [x], seed=seed)
    check_parity(lambda x: x[x > 0.3], lambda x: x[x > 0.3], [x], seed=seed)


@given(shape=shapes(min_dims=2, min_side=1), seed=seeds())
def test_getitem_mixed(shape, seed):
    """Two index arrays split by a slice (the advanced axes go first, in both libraries),
    an array after an Ellipsis, a mask after an int, and chained indexing."""
    rng = rng_of(seed)
    x = randn(rng, shape)
    i0 = rng.integers(0, shape[0], size=(2, 3))
    i1 = rng.integers(-shape[-1], shape[-1], size=(3,))
    i2 = rng.integers(-shape[2 % len(shape)], shape[2 % len(shape)], size=(3,))
    m1 = rng.random(shape[1]) < 0.5
    keys = [
        (i0, slice(None), i2) if len(shape) >= 3 else (i0, i1),
        (Ellipsis, i1),
        (slice(None, None, 2), Ellipsis, i1, None),
        (0, m1),
    ]
    for key in keys:
        check_parity(lambda x, key=key: x[key], torch_indexer(key, shape), [x], seed=seed)
    check_parity(lambda x: x[::-1][i0][..., :1],
                 lambda x: torch.flip(x, [0])[torch.from_numpy(i0)][..., :1], [x], seed=seed)


# ------------------------------------------------------ concatenate and stack
@st.composite
def concat_case(draw):
    shape = list(draw(shapes(min_dims=1, max_dims=3, max_side=3)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    out = []
    for s in sizes:
        shape[axis] = s
        out.append(tuple(shape))
    return out, axis


@given(case=concat_case(), seed=seeds())
def test_concatenate(case, seed):
    shape_list, axis = case
    rng = rng_of(seed)
    xs = [randn(rng, s) for s in shape_list]
    check_parity(lambda *xs: mg.concatenate(xs, axis), lambda *xs: torch.cat(xs, axis), xs,
                 seed=seed)
    check_parity(lambda *xs: mg.cat(list(xs), axis=axis), lambda *xs: torch.cat(xs, dim=axis),
                 xs, seed=seed)


@given(case=concat_case(), seed=seeds())
def test_concatenate_some_constant(case, seed):
    shape_list, axis = case
    rng = rng_of(seed)
    xs = [randn(rng, s) for s in shape_list]
    check_parity(lambda *xs: mg.concatenate(xs, axis), lambda *xs: torch.cat(xs, axis), xs,
                 wrt=[0], seed=seed)


@given(shape=shapes(max_dims=3, max_side=3), seed=seeds(), k=st.integers(1, 4), data=st.data())
def test_stack(shape, seed, k, data):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim - 1, ndim))
    rng = rng_of(seed)
    xs = [randn(rng, shape) for _ in range(k)]
    check_parity(lambda *xs: mg.stack(xs, axis), lambda *xs: torch.stack(xs, axis), xs,
                 seed=seed)


# ------------------------------------------------------------- split and chunk
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_split_by_size(shape, seed, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    size = data.draw(st.integers(1, 5))
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.split(x, size, dim), lambda x: torch.split(x, size, dim), [x],
                 seed=seed)
    check_parity(lambda x: x.split(size, dim=dim), lambda x: x.split(size, dim=dim), [x],
                 seed=seed)


@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_split_by_sections(shape, seed, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    length = shape[dim]
    cuts = sorted(data.draw(st.lists(st.integers(0, length), max_size=3)))
    sizes = np.diff([0] + cuts + [length]).tolist()
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.split(x, sizes, dim), lambda x: torch.split(x, sizes, dim),
                 [x], seed=seed)


@given(shape=shapes(min_dims=1, max_side=7), seed=seeds(), data=st.data())
def test_chunk(shape, seed, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    chunks = data.draw(st.integers(1, 6))
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.chunk(x, chunks, dim), lambda x: torch.chunk(x, chunks, dim),
                 [x], seed=seed)


@given(shape=shapes(min_dims=1, min_side=1), seed=seeds())
def test_split_with_unused_pieces(shape, seed):
    """Only some pieces reach the loss: the others get a zero gradient."""
    x = randn(rng_of(seed), shape)
    check_parity(lambda x: mg.split(x, 1, 0)[0] * 2.0,
                 lambda x: torch.split(x, 1, 0)[0] * 2.0, [x], seed=seed)


# ------------------------------------------------------------------ matrix-free
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), seed=seeds(), data=st.data())
def test_index_add(shape, seed, data):
    """Repeated indices add up; gradient to both the target and the source."""
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    k = data.draw(st.integers(0, 6))
    rng = rng_of(seed)
    index = rng.integers(0, shape[dim], size=k)
    src_shape = list(shape)
    src_shape[dim] = k
    x, src = randn(rng, shape), randn(rng, tuple(src_shape))
    check_parity(lambda x, s: mg.index_add(x, dim, index, s),
                 lambda x, s: torch.index_add(x, dim, torch.from_numpy(index), s),
                 [x, src], seed=seed)
    check_parity(lambda x, s: x.index_add(dim, mg.tensor(index), s),
                 lambda x, s: x.index_add(dim, torch.from_numpy(index), s),
                 [x, src], seed=seed)


@given(shape=shapes(min_dims=1, max_dims=3), seed=seeds(), num_segments=st.integers(1, 5))
def test_segment_sum(shape, seed, num_segments):
    """segment_sum(x, ids, S) is index_add of x's rows into S zero rows."""
    rng = rng_of(seed)
    ids = rng.integers(0, num_segments, size=shape[0])
    x = randn(rng, shape)

    def reference(x):
        zeros = torch.zeros((num_segments,) + tuple(shape[1:]), dtype=torch.float64)
        return torch.index_add(zeros, 0, torch.from_numpy(ids), x)

    check_parity(lambda x: mg.segment_sum(x, ids, num_segments), reference, [x], seed=seed)
    check_parity(lambda x: mg.segment_sum(x, mg.tensor(ids), num_segments), reference, [x],
                 seed=seed)


@given(shape=shapes(max_dims=3), seed=seeds(), vocab=st.integers(1, 6), dim=st.integers(0, 4),
       data=st.data())
def test_embedding(shape, seed, vocab, dim, data):
    """Repeated indices accumulate; the padding row gets no gradient (a negative
    padding_idx counts from the end, as in torch)."""
    pad = data.draw(st.one_of(st.none(), st.integers(-vocab, vocab - 1)))
    rng = rng_of(seed)
    idx = rng.integers(0, vocab, size=shape)
    w = randn(rng, (vocab, dim))
    check_parity(lambda w: F.embedding(mg.tensor(idx), w, padding_idx=pad),
                 lambda w: TF.embedding(torch.from_numpy(idx), w, padding_idx=pad),
                 [w], seed=seed)
    check_parity(lambda w: F.embedding(idx, w, padding_idx=pad),
                 lambda w: TF.embedding(torch.from_numpy(idx), w, padding_idx=pad),
                 [w], seed=seed)


@given(shapes=broadcastable_shapes(2), seed=seeds(),
       value=st.sampled_from([0.0, -1.5, 3.0, -1e9, float("-inf")]))
def test_masked_fill(shapes, seed, value):
    """The mask broadcasts against x (and x against the mask where the mask is larger,
    as torch's out-of-place masked_fill does)."""
    x_shape, mask_shape = shapes
    rng = rng_of(seed)
    x = randn(rng, x_shape)
    mask = rng.random(mask_shape) < 0.5
    check_parity(lambda x, m: F.masked_fill(x, m, value),
                 lambda x, m: torch.masked_fill(x, m, value), [x, mask], seed=seed)
    check_parity(lambda x, m: x.masked_fill(m, value),
                 lambda x, m: torch.masked_fill(x, m, value), [x, mask], seed=seed)


@pytest.mark.parametrize("pad", [None, 0, 2, 3, -1, -4])
def test_embedding_repeats_and_padding(pad):
    idx = np.array([[3, 1, 3], [0, 3, 2]])
    w = randn(rng_of(0), (4, 3))
    check_parity(lambda w: F.embedding(idx, w, padding_idx=pad),
                 lambda w: TF.embedding(torch.from_numpy(idx), w, padding_idx=pad), [w])
