"""Universal Projection Module: routing weights, expert mixing, tags."""

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


def test_sigmoid_normalisation_differs_from_softmax() -> None:
    torch.manual_seed(0)
    a = UniversalProjection(preset("tiny"))
    b = UniversalProjection(preset("tiny", router_norm="softmax"))
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 5, 32) * 3
    logits = a.routers["image"](x)
    assert torch.allclose(a.routing_weights(x, "image"), logits.sigmoid() / logits.sigmoid().sum(-1, keepdim=True))
    assert not torch.allclose(a.routing_weights(x, "image"), b.routing_weights(x, "image"))


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
