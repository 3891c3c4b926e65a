"""nn.Module and nn.Parameter: registration, iteration, state dicts, modes, conversion, reprs,
hooks and the containers, each compared with torch.nn where torch has the same behaviour."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import lemmata
from lemmata import nn
from nn_testing import copy_torch_to_lemmata, to_numpy_state


def build(lib):
    """The same small model in torch or lemmata: conv, BN, pooling, a nested Sequential."""
    n = lib.nn

    class Block(n.Module):
        def __init__(self):
            super().__init__()
            self.conv = n.Conv2d(3, 4, 3, padding=1)
            self.bn = n.BatchNorm2d(4)
            self.head = n.Sequential(n.Flatten(), n.Linear(4 * 4 * 4, 5), n.ReLU(),
                                     n.Linear(5, 2, bias=False))
            self.register_buffer("scale", lib.ones(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            x = n.functional.max_pool2d(lib.relu(self.bn(self.conv(x))), 2)
            return self.head(x) * self.scale

    return Block()


# ------------------------------------------------------------------------------ Parameter
def test_parameter_is_a_tensor_requiring_grad_and_shares_memory():
    t = lemmata.ones(3)
    p = nn.Parameter(t)
    assert isinstance(p, lemmata.Tensor) and p.requires_grad and p.is_leaf
    assert p.numpy(force=True) is t.numpy()
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert type(p * 2) is lemmata.Tensor
    with pytest.raises(TypeError, match="Parameter"):
        nn.Parameter([1.0, 2.0])


def test_parameter_repr_matches_torch():
    ours = nn.Parameter(lemmata.tensor([1.0, 2.5, 3.0]))
    theirs = torch.nn.Parameter(torch.tensor([1.0, 2.5, 3.0]))
    assert repr(ours) == repr(theirs).replace("torch", "lemmata")


def test_parameter_deepcopy_and_pickle():
    import pickle
    p = nn.Parameter(lemmata.tensor([1.0, 2.0]))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad
    assert q.numpy(force=True) is not p.numpy(force=True)
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and np.array_equal(r.detach().numpy(), [1.0, 2.0])


# ------------------------------------------------------------------------------ registration
def test_attribute_assignment_registers_parameters_buffers_and_modules():
    m = nn.Module()
    m.w = nn.Parameter(lemmata.zeros(2))
    m.child = nn.Linear(2, 3)
    m.register_buffer("b", lemmata.ones(2))
    m.plain = 5
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
    assert list(m._buffers) == ["b"] and m.plain == 5
    assert m.w is m._parameters["w"] and m.child is m._modules["child"] and m.b is m._buffers["b"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = lemmata.zeros(2)
    m.w = None  # allowed: a None placeholder
    assert m.w is None and [n for n, _ in m.named_parameters()] == ["child.weight", "child.bias"]
    with pytest.raises(TypeError, match="child module 'child'"):
        m.child = 3
    m.b = lemmata.zeros(5)  # buffers may be replaced by tensors
    assert m._buffers["b"].shape == (5,)
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.b = 3.0
    del m.child, m.b
    assert not m._modules and not m._buffers
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'child'"):
        m.child
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", lemmata.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)


def test_buffer_class_registers_a_buffer():
    m = nn.Module()
    m.stats = nn.Buffer(lemmata.zeros(3))
    m.tmp = nn.Buffer(lemmata.zeros(1), persistent=False)
    assert list(m.state_dict()) == ["stats"]
    assert [n for n, _ in m.named_buffers()] == ["stats", "tmp"]


def test_assignment_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_missing_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="missing the required \"forward\""):
        nn.Module()(lemmata.zeros(1))


# ------------------------------------------------------------------------------ iteration
def test_named_parameters_buffers_modules_match_torch():
    ours, theirs = build(lemmata), build(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_parameters(prefix="m", recurse=False)] == \
        [n for n, _ in theirs.named_parameters(prefix="m", recurse=False)]
    assert [tuple(p.shape) for p in ours.parameters()] == \
        [tuple(p.shape) for p in theirs.parameters()]
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 8
    assert [type(c).__name__ for c in ours.children()] == ["Conv2d", "BatchNorm2d", "Sequential"]


def test_shared_parameters_are_counted_once():
    def tied(lib):
        a, b = lib.nn.Linear(4, 4), lib.nn.Linear(4, 4)
        b.weight = a.weight
        return lib.nn.Sequential(a, lib.nn.Tanh(), b, a)

    ours, theirs = tied(lemmata), tied(torch)
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters()) == 24
    assert len(list(ours.named_parameters(remove_duplicate=False))) == 6
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # a shared parameter accumulates the gradients of both uses
    x = lemmata.randn(2, 4)
    ours(x).sum().backward()
    assert ours[0].weight.grad is ours[2].weight.grad


def test_get_submodule_and_parameter():
    m = build(lemmata)
    assert m.get_submodule("head.1") is m.head[1]
    assert m.get_parameter("head.1.weight") is m.head[1].weight
    assert m.get_buffer("bn.running_mean") is m.bn.running_mean
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.get_submodule("head.nope")


# ------------------------------------------------------------------------------ state dicts
def test_state_dict_keys_shapes_and_dtypes_match_torch_both_ways():
    ours, theirs = build(lemmata), build(torch)
    sd_l, sd_t = ours.state_dict(), theirs.state_dict()
    assert isinstance(sd_l, OrderedDict)
    assert list(sd_l) == list(sd_t)
    for k in sd_t:
        assert tuple(sd_l[k].shape) == tuple(sd_t[k].shape), k
        assert str(sd_l[k].dtype) == str(sd_t[k].dtype).replace("torch.", ""), k
        assert not sd_l[k].requires_grad
    assert "scratch" not in sd_l and "bn.num_batches_tracked" in sd_l
    # torch tensors load directly too (through __array__)
    assert not ours.load_state_dict(theirs.state_dict()).missing_keys
    # torch -> numpy -> lemmata
    copy_torch_to_lemmata(theirs, ours)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd_t[k].numpy())
    # lemmata -> numpy -> torch, after changing lemmata's weights
    with lemmata.no_grad():
        for p in ours.parameters():
            p.mul_(0.5)
    fresh = build(torch)
    fresh.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                           for k, v in ours.state_dict().items()})
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ours.state_dict()[k].numpy())


def test_state_dict_shares_memory_and_load_keeps_parameter_identity():
    m = nn.Linear(3, 2)
    weight = m.weight
    sd = m.state_dict()
    assert sd["weight"].numpy() is m.weight.numpy(force=True)
    m.load_state_dict({"weight": np.full((2, 3), 7.0), "bias": lemmata.tensor([1.0, 2.0])})
    assert m.weight is weight and m.weight.requires_grad
    assert np.all(m.weight.detach().numpy() == 7.0) and m.weight.dtype == np.float32
    assert m.bias.detach().numpy().tolist() == [1.0, 2.0]


def test_load_state_dict_assign_shares_the_given_arrays():
    m = nn.Linear(2, 2)
    weight = m.weight
    new = np.ones((2, 2))
    m.load_state_dict({"weight": new, "bias": np.zeros(2)}, assign=True)
    assert m.weight is weight and m.weight.numpy(force=True) is new
    assert m.weight.dtype == np.float64


def test_load_state_dict_errors_name_keys_and_shapes():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    good = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    missing = dict(good)
    del missing["2.bias"]
    with pytest.raises(RuntimeError, match=r'Error\(s\) in loading state_dict for Sequential:\n\t'
                                           r'Missing key\(s\) in state_dict: "2.bias"'):
        m.load_state_dict(missing)
    extra = dict(good, **{"3.weight": np.zeros(1), "0.gamma": np.zeros(1)})
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "3.weight", '
                                           r'"0.gamma"'):
        m.load_state_dict(extra)
    result = m.load_state_dict(extra, strict=False)
    assert result.missing_keys == [] and sorted(result.unexpected_keys) == ["0.gamma", "3.weight"]
    result = m.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == []
    wrong = dict(good, **{"0.weight": np.zeros((3, 3))})
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with "
                                           r"shape \(3, 3\) from checkpoint, the shape in current "
                                           r"model is \(2, 3\)"):
        m.load_state_dict(wrong, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])
    assert repr(m.load_state_dict(good)) == "<All keys matched successfully>"


def test_batchnorm_state_dict_without_num_batches_tracked_loads_as_torch():
    theirs = torch.nn.BatchNorm1d(3)
    sd = to_numpy_state(theirs)
    del sd["num_batches_tracked"]
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})  # torch accepts it
    ours = nn.BatchNorm1d(3)
    assert ours.load_state_dict(sd).missing_keys == []


# ------------------------------------------------------------------------------ modes
def test_train_eval_propagate_and_dropout_obeys():
    m = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(4)))
    assert all(mod.training for mod in m.modules())
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    x = lemmata.randn(8, 4)
    np.testing.assert_array_equal(m[1][0](x).numpy(), x.numpy())
    m.train()
    assert all(mod.training for mod in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_zero_grad_requires_grad_and_apply():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    m(lemmata.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(p.grad.numpy()) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    seen = []

    def init_weights(module):
        seen.append(type(module).__name__)
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)

    assert m.apply(init_weights) is m
    assert seen == ["Linear", "Linear", "Sequential"]
    assert all(np.all(layer.weight.detach().numpy() == 0.5) for layer in m)


def test_to_dtype_converts_parameters_and_buffers_in_place():
    m = build(lemmata)
    params = list(m.parameters())
    m(lemmata.randn(2, 3, 8, 8)).sum().backward()
    assert m.double() is m
    assert [p for p in m.parameters()] == params
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert m.bn.running_mean.dtype == np.float64 and m.scratch.dtype == np.float64
    assert m.bn.num_batches_tracked.dtype == np.int64
    m.to(lemmata.complex128)
    assert all(p.dtype == np.complex128 for p in m.parameters())
    assert m.bn.num_batches_tracked.dtype == np.int64
    out = m(lemmata.randn(2, 3, 8, 8).to(lemmata.complex128))
    assert out.dtype == np.complex128
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert m.to("cpu") is m
    with pytest.raises(TypeError, match="floating point or complex"):
        m.to(lemmata.int64)
    if not lemmata.backend.is_available("cuda"):
        with pytest.raises(RuntimeError, match="Module.to: device 'cuda' needs CuPy|finds no CUDA"):
            m.to("cuda")


def test_complex_step_through_a_model_gives_the_directional_derivative():
    """Im L(θ + i h v)/h = ∇L·v exactly: the model runs on complex128 (seed ttic.p5)."""
    lemmata.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 1))
    m.double()
    x = lemmata.randn(4, 5, dtype=lemmata.float64)
    m(x).pow(2).sum().backward()
    grads = [p.grad.numpy().copy() for p in m.parameters()]
    directions = [np.random.default_rng(i).standard_normal(tuple(p.shape))
                  for i, p in enumerate(m.parameters())]
    m.to(lemmata.complex128)
    h = 1e-20
    with lemmata.no_grad():
        for p, v in zip(m.parameters(), directions):
            p.add_(lemmata.tensor(1j * h * v))
        value = m(x.to(lemmata.complex128)).pow(2).sum().item()
    expected = sum(float((g * v).sum()) for g, v in zip(grads, directions))
    assert value.imag / h == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------------------ hooks
def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    pre = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    post = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    out = m(lemmata.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(
        m.bias.detach().numpy() + 1, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    pre.remove()
    post.remove()
    out = m(lemmata.ones(3, 2))
    assert calls == [(3, 2)]


# ------------------------------------------------------------------------------ reprs
def test_reprs_match_torch():
    for lib_model in (build, lambda lib: lib.nn.Sequential(
            lib.nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False,
                          padding_mode="circular"),
            lib.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
            lib.nn.Conv2d(2, 2, 3, padding="same"), lib.nn.Conv3d(2, 2, 1, padding="valid"),
            lib.nn.MaxPool2d(3, 2, ceil_mode=True), lib.nn.MaxPool1d(2),
            lib.nn.AvgPool1d(3), lib.nn.AvgPool2d(2), lib.nn.AvgPool3d((1, 2, 2), stride=1),
            lib.nn.AdaptiveAvgPool2d((1, 1)), lib.nn.AdaptiveAvgPool1d(4),
            lib.nn.AdaptiveAvgPool3d(2), lib.nn.AdaptiveMaxPool1d(3),
            lib.nn.AdaptiveMaxPool2d((2, 1), return_indices=True), lib.nn.AdaptiveMaxPool3d(1),
            lib.nn.MaxPool3d(2, padding=1, dilation=2), lib.nn.ConvTranspose3d(2, 2, 2, 2),
            lib.nn.BatchNorm2d(4, bias=False), lib.nn.BatchNorm3d(2, track_running_stats=False),
            lib.nn.BatchNorm1d(3, momentum=None, affine=False),
            lib.nn.LayerNorm([3, 4], elementwise_affine=False), lib.nn.GroupNorm(2, 4),
            lib.nn.Dropout(), lib.nn.Dropout2d(0.1, inplace=True), lib.nn.Identity(),
            lib.nn.ReLU(inplace=True), lib.nn.LeakyReLU(0.2), lib.nn.Sigmoid(), lib.nn.Tanh(),
            lib.nn.Softplus(beta=2), lib.nn.GELU(approximate="tanh"), lib.nn.ELU(),
            lib.nn.SELU(), lib.nn.SiLU(), lib.nn.Mish(), lib.nn.Hardtanh(-2.0, 2.0),
            lib.nn.ReLU6(), lib.nn.LogSigmoid(), lib.nn.Softsign(), lib.nn.Softmax(dim=1),
            lib.nn.Softmin(dim=0), lib.nn.LogSoftmax(dim=-1), lib.nn.Flatten(),
            lib.nn.Unflatten(1, (2, 3)), lib.nn.Unflatten(-1, [4, 1]), lib.nn.Bilinear(2, 3, 4),
            lib.nn.ModuleList([lib.nn.Linear(1, 1) for _ in range(3)] + [lib.nn.ReLU()]),
            lib.nn.ModuleDict({"a": lib.nn.Tanh()}), lib.nn.Sequential())):
        assert repr(lib_model(lemmata)) == repr(lib_model(torch))


def test_sequential_from_ordered_dict_repr_and_indexing():
    def make(lib):
        return lib.nn.Sequential(OrderedDict([("conv", lib.nn.Conv2d(1, 2, 3)),
                                              ("act", lib.nn.ReLU())]))

    ours, theirs = make(lemmata), make(torch)
    assert repr(ours) == repr(theirs)
    assert repr(ours[1:]) == repr(theirs[1:])
    assert ours[0] is ours.conv and ours[-1] is ours.act


# ------------------------------------------------------------------------------ containers
def test_sequential_container_api():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b)
    assert len(s) == 2 and list(s) == [a, b] and s[0] is a and s[-1] is b
    s.append(c)
    assert s[2] is c and s(lemmata.ones(4, 2)).shape == (4, 1)
    t = s[1:]
    assert isinstance(t, nn.Sequential) and list(t) == [b, c] and list(t._modules) == ["1", "2"]
    s.insert(0, nn.Identity())
    assert list(s._modules) == ["0", "1", "2", "3"] and s[1] is a
    del s[0]
    assert list(s) == [a, b, c] and list(s._modules) == ["0", "1", "2"]
    s[1] = nn.Tanh()
    assert isinstance(s[1], nn.Tanh)
    assert s.pop(1).__class__ is nn.Tanh and len(s) == 2
    u = s + nn.Sequential(nn.Sigmoid())
    assert len(u) == 3 and isinstance(u[2], nn.Sigmoid)
    s.extend([nn.ReLU()])
    assert len(s) == 3
    with pytest.raises(IndexError, match="out of range"):
        s[5]


def test_module_list_container_api():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    owner = nn.Module()
    owner.layers = layers
    assert [n for n, _ in owner.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh(), nn.Sigmoid()])
    layers.insert(1, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Linear", "Identity", "Linear", "ReLU", "Tanh",
                                                  "Sigmoid"]
    assert list(layers._modules) == [str(i) for i in range(6)]
    assert isinstance(layers[-1], nn.Sigmoid) and len(layers[1:3]) == 2
    del layers[1]
    assert len(layers) == 5 and list(layers._modules) == [str(i) for i in range(5)]
    layers += [nn.ELU()]
    assert len(layers) == 6
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(nn.ReLU())
    with pytest.raises(RuntimeError, match="container"):
        layers(lemmata.zeros(1))


def test_module_dict_container_api():
    d = nn.ModuleDict({"a": nn.Linear(1, 1)})
    d["b"] = nn.ReLU()
    d.update([("c", nn.Tanh())])
    assert list(d) == ["a", "b", "c"] and "b" in d and len(d) == 3
    assert list(d.keys()) == ["a", "b", "c"] and isinstance(d["c"], nn.Tanh)
    assert [type(v).__name__ for v in d.values()] == ["Linear", "ReLU", "Tanh"]
    assert isinstance(d.pop("b"), nn.ReLU) and list(d) == ["a", "c"]
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    d.clear()
    assert len(d) == 0


def test_parameter_list():
    ours = nn.ParameterList([lemmata.ones(2), nn.Parameter(lemmata.zeros(3, 2))])
    theirs = torch.nn.ParameterList([torch.ones(2), torch.nn.Parameter(torch.zeros(3, 2))])
    assert repr(ours) == repr(theirs).replace("torch.", "lemmata.")
    ps = nn.ParameterList([lemmata.ones(2), nn.Parameter(lemmata.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in ps) and len(ps) == 2
    assert [n for n, _ in ps.named_parameters()] == ["0", "1"]
    ps.append(lemmata.ones(1))
    assert len(list(ps.parameters())) == 3


def test_deepcopy_keeps_ties_and_copies_arrays():
    a = nn.Linear(2, 2)
    m = nn.Sequential(a, a)
    n = copy.deepcopy(m)
    assert n[0] is n[1] and n[0].weight is not a.weight
    assert np.array_equal(n[0].weight.detach().numpy(), a.weight.detach().numpy())
    with lemmata.no_grad():
        n[0].weight.zero_()
    assert np.any(a.weight.detach().numpy())
