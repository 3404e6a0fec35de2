"""Universal Projection Module: routing weights, expert mixing, tags."""

import math

import pytest
import torch

from model.config import preset
from model.upm import UniversalProjection


@pytest.mark.parametrize("norm", ["sigmoid", "softmax"])
def test_router_weights_are_positive_and_sum_to_one(norm) -> None:
    torch.manual_seed(0)
    upm = UniversalProjection(preset("tiny", router_norm=norm))
    w = upm.routing_weights(torch.randn(2, 40, 32), "audio")
    assert w.shape == (2, 40, 3) and (w > 0).all()
    assert torch.allclose(w.sum(-1), torch.ones(2, 40), atol=1e-6)


@pytest.mark.parametrize("norm,expected", [
    # logits (0, ln 3, -ln 3): sigmoids 1/2, 3/4, 1/4 sum to 3/2; exponentials 1, 3, 1/3 sum to 13/3
    ("sigmoid", (1 / 3, 1 / 2, 1 / 6)),
    ("softmax", (3 / 13, 9 / 13, 1 / 13)),
])
def test_routing_weights_by_hand(norm, expected) -> None:
    """Router logits fixed through fc2's bias (weights zeroed), so each token's weights are known in closed form."""
    upm = UniversalProjection(preset("tiny", router_norm=norm))
    with torch.no_grad():
        upm.routers["image"].fc2.weight.zero_()
        upm.routers["image"].fc2.bias.copy_(torch.tensor([0.0, math.log(3), -math.log(3)]))
    w = upm.routing_weights(torch.randn(1, 5, 32), "image")
    assert torch.allclose(w, torch.tensor(expected).expand(1, 5, 3), atol=1e-6)


def test_single_expert_output_is_independent_of_router() -> None:
    torch.manual_seed(0)
    upm = UniversalProjection(preset("tiny", upm_experts=1)).eval()
    x = torch.randn(2, 20, 32)
    with torch.no_grad():
        before = upm(x, "imu")
        upm.routers["imu"].fc2.bias.add_(5.0)
        assert torch.allclose(before, upm(x, "imu"), atol=1e-6)  # one expert always weighs 1


def test_output_depends_on_every_input_token_and_tags_frame_it() -> None:
    torch.manual_seed(0)
    upm = UniversalProjection(preset("tiny")).eval()
    x = torch.randn(1, 20, 32)
    y = x.clone()
    y[:, -1] += 1.0  # bidirectional: the last input token still reaches the 30 modality tokens
    with torch.no_grad():
        out = upm(x, "depth")
        assert out.shape == (1, 30, 64) and not torch.allclose(out, upm(y, "depth"))
        framed = upm.framed(out, "depth")
    assert framed.shape == (1, 32, 64)
    assert torch.equal(framed[:, 0], upm.start_tag["rgbd"][:, 0])
    assert torch.equal(framed[:, -1], upm.end_tag["rgbd"][:, 0])
