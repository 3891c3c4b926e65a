"""The class listings of the seed documents, copied as written with only the import changed,
run under lemmata and under torch with the same weights: same parameter counts, same outputs,
same parameter gradients.  Where a listing has a bug, the fix is marked ``# fixed:``."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

import lemmata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "nn"))
from nn_testing import assert_module_parity  # noqa: E402

LEMMATA_HEADER = "import lemmata as torch\nfrom lemmata import nn\n"
TORCH_HEADER = "import torch\nfrom torch import nn\n"

# ryu22.q2 (document 000): three compositions of conv, max pooling and ReLU
RYU22_Q2 = '''
class model1(nn.Module):
    def __init__(self, in_chan, out_chan):
        super(model1, self).__init__()
        self.conv = nn.Conv2d(in_channels=in_chan,
                               out_channels=out_chan, kernel_size=3)
        self.mp = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return torch.relu(self.mp(self.conv(x)))

class model2(nn.Module):
    def __init__(self, in_chan, out_chan):
        super(model2, self).__init__()
        self.conv = nn.Conv2d(in_channels=in_chan,
                               out_channels=out_chan, kernel_size=3)
        self.mp = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return self.mp(torch.relu(self.conv(x)))

class model3(nn.Module):
    def __init__(self, in_chan, out_chan):
        super(model3, self).__init__()
        self.conv = nn.Conv2d(in_channels=in_chan,
                               out_channels=out_chan, kernel_size=3)
        self.mp = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return torch.relu(self.mp(torch.relu(self.conv(x))))
'''

# ryu22.q7 (document 000): Network in Network
RYU22_Q7 = '''
class NiN(nn.Module):
    def __init__(self):
        super(NiN, self).__init__()
        self.mlpconv_layer1 = nn.Sequential(
            nn.Conv2d(3, 192, kernel_size=5, padding=2, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 160, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(160, 96, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            nn.Dropout()
        )
        self.mlpconv_layer2 = nn.Sequential(
            nn.Conv2d(96, 192, kernel_size=5, padding=2, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            nn.Dropout()
        )
        self.mlpconv_layer3 = nn.Sequential(
            nn.Conv2d(192, 192, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 10, kernel_size=1, bias=False),
            nn.ReLU()
        )

    def forward(self, x) :
        out1 = self.mlpconv_layer1(x)
        out2 = self.mlpconv_layer2(out1)
        out3 = self.mlpconv_layer3(out2)
        out4 = nn.AvgPool2d(kernel_size=8)(out3)
        return out4.view(-1, 10)
'''

# ryu24.q6 (document 002): the bias-free ReLU CNN
RYU24_Q6 = '''
class Net(nn.Module) :
    def __init__(self) :
        super(Net, self).__init__()
        self.conv_layer1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.conv_layer2 = nn.Sequential(
            nn.Conv2d(64, 128, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(128, 128, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.conv_layer3 = nn.Sequential(
            nn.Conv2d(128, 256, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.conv_layer4 = nn.Sequential(
            nn.Conv2d(256, 512, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.fc_layer1 = nn.Sequential(
            nn.Linear(512*2*2, 4096, bias=False),
            nn.ReLU(),
            nn.Dropout() )
        self.fc_layer2 = nn.Sequential(
            nn.Linear(4096, 4096, bias=False),
            nn.ReLU(),
            nn.Dropout() )
        self.fc_layer3 = nn.Linear(4096, 10, bias=False)

    def forward(self, x) :
        output = self.conv_layer1(x)
        output = self.conv_layer2(output)
        output = self.conv_layer3(output)
        output = self.conv_layer4(output)
        output = output.view(-1, 512*2*2)
        output = self.fc_layer1(output)
        output = self.fc_layer2(output)
        return self.fc_layer3(output)
'''

# hw6.p1 (document 003)
HW6_P1 = '''
class myLayer(nn.Module):
    def __init__(self, input_size, output_size):
        super(myLayer, self).__init__()
        self.linear = nn.Linear(input_size,output_size)
        self.sigma = nn.ReLU()
        # self.sigma = nn.Sigmoid()
        # self.sigma = nn.LeakyReLU()
        self.dropout= nn.Dropout(p=0.4)
    def forward(self, x):
        return self.dropout(self.sigma(self.linear(x)))  # fixed: was dropout(sigma(linear))
        # return sigma(dropout(linear)) # Is this is equivalent?
'''

# hw6.p4 (document 003): the plain bottleneck and the split-transform-merge solution
HW6_P4 = '''
class MyConvLayer(nn.Module):
    def __init__(self):
        super(MyConvLayer, self).__init__()
        self.conv1 = nn.Conv2d(256, 128, 1,)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 1)
    def forward(self, x):
        out = torch.nn.functional.relu(self.conv1(x))
        out = torch.nn.functional.relu(self.conv2(out))
        out = torch.nn.functional.relu(self.conv3(out))
        return out

class STMConv(nn.Module):
  def __init__(self):
    super(STMConv, self).__init__()
    self.layer1 = nn.ModuleList([
      nn.Conv2d(256, 4, kernel_size=1, stride=1)
      for i in range (32)
    ])  # fixed: was "1)"
    self.layer2 = nn.ModuleList([
      nn.Conv2d(4, 4, kernel_size=3, stride=1, padding=1)
      for i in range (32)
    ])
    self.layer3 = nn.ModuleList([
      nn.Conv2d(4, 256, kernel_size=1, stride=1)
      for i in range (32)
    ])
  def forward(self, x):
    out = []
    for i in range (32):
      tmp = torch.nn.functional.relu(self.layer1[i](x))
      tmp = torch.nn.functional.relu(self.layer2[i](tmp))
      tmp = torch.nn.functional.relu(self.layer3[i](tmp))
      out.append(tmp)  # fixed: was "out = out.append(tmp)"
    return sum(out)
'''


def load(listing: str, lib: str) -> dict:
    namespace: dict = {"__name__": f"listing_{lib}"}
    header = LEMMATA_HEADER if lib == "lemmata" else TORCH_HEADER
    exec(compile(header + listing, f"<seed listing, {lib}>", "exec"), namespace)
    return namespace


def pair(listing: str, name: str, *args):
    torch.manual_seed(0)
    return load(listing, "lemmata")[name](*args), load(listing, "torch")[name](*args)


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_lemmata_listing_uses_lemmata():
    ours, theirs = pair(RYU22_Q2, "model1", 2, 3)
    assert isinstance(ours, lemmata.nn.Module) and isinstance(theirs, torch.nn.Module)


@pytest.mark.parametrize("name", ["model1", "model2", "model3"])
def test_ryu22_q2_models_match_torch(name):
    ours, theirs = pair(RYU22_Q2, name, 3, 4)
    assert count(ours) == count(theirs) == 4 * 3 * 9 + 4
    x = np.random.default_rng(1).standard_normal((2, 3, 10, 9))
    assert_module_parity(ours, theirs, x, dtype="float64")
    assert_module_parity(ours, theirs, x, dtype="float32")


def test_ryu22_q2_the_three_models_are_the_same_function():
    namespace = load(RYU22_Q2, "lemmata")
    lemmata.manual_seed(0)
    models = [namespace[n](3, 5) for n in ("model1", "model2", "model3")]
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    x = lemmata.randn(4, 3, 12, 12, dtype=lemmata.float64)
    outs = [m.double()(x).detach().numpy() for m in models]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_ryu22_q7_nin_matches_torch():
    ours, theirs = pair(RYU22_Q7, "NiN")
    assert count(ours) == count(theirs) == 965568
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32))
    # eval mode: dropout is the identity in both, so the functions are identical
    assert_module_parity(ours, theirs, x, dtype="float32", train=False)


def test_ryu24_q6_net_matches_torch():
    ours, theirs = pair(RYU24_Q6, "Net")
    assert count(ours) == count(theirs) == 32839360
    x = np.random.default_rng(3).standard_normal((2, 3, 32, 32))
    assert_module_parity(ours, theirs, x, dtype="float32", train=False)


def test_ryu24_q6_net_is_positively_homogeneous():
    namespace = load(RYU24_Q6, "lemmata")
    lemmata.manual_seed(0)
    net = namespace["Net"]().eval()
    x = lemmata.randn(1, 3, 32, 32)
    with lemmata.no_grad():
        y, y3 = net(x).numpy(), net(x * 3.0).numpy()
    np.testing.assert_allclose(y3, 3.0 * y, rtol=1e-4, atol=1e-6 * np.abs(y).max())


def test_hw6_p1_my_layer_matches_torch():
    ours, theirs = pair(HW6_P1, "myLayer", 6, 4)
    assert count(ours) == count(theirs) == 28
    x = np.random.default_rng(4).standard_normal((5, 6))
    assert_module_parity(ours, theirs, x, dtype="float64", train=False)


def test_hw6_p4_counts_and_parity():
    plain, plain_t = pair(HW6_P4, "MyConvLayer")
    stm, stm_t = pair(HW6_P4, "STMConv")
    assert count(plain) == count(plain_t) == 213504
    assert count(stm) == count(stm_t) == 78592
    x = np.random.default_rng(5).standard_normal((1, 256, 5, 4))
    assert_module_parity(plain, plain_t, x, dtype="float32")
    assert_module_parity(stm, stm_t, x, dtype="float32")
