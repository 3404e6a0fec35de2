"""Modality tokenizers: token counts of the released sizes, FPS, point grouping channels, frame folding."""

import torch

from model.clip_vit import VisionTransformer
from model.config import preset
from model.modality_tokenizers import ModalityTokenizers, PointPatchEmbed, farthest_point_sample


def test_token_counts_match_release() -> None:
    counts = preset("onellm-7b").token_counts()
    assert counts == {"image": 256, "audio": 1212, "point": 1024, "imu": 391, "fmri": 8}


def test_farthest_point_sample_spreads_out() -> None:
    torch.manual_seed(0)
    pts = torch.rand(2, 500, 3) + 0.1
    idx = farthest_point_sample(pts, 20)
    assert idx.shape == (2, 20) and (idx[:, 0] == 0).all()
    assert all(len(set(row.tolist())) == 20 for row in idx)
    # the FPS set's minimum pairwise distance beats a random subset's
    chosen = pts[0, idx[0]]
    random = pts[0, torch.randperm(500)[:20]]
    def min_gap(p): return (torch.cdist(p, p) + torch.eye(20) * 9).min()
    assert min_gap(chosen) > min_gap(random)


def test_fps_keeps_points_at_origin_like_onellms_pointnet2() -> None:
    """OneLLM's copy of the kernel has the near-zero skip commented out: a black point is a centre like any other."""
    pts = torch.tensor([[[1.0, 1, 1], [0, 0, 0], [0.5, 0.5, 0.5], [0.9, 1, 1]]])
    assert farthest_point_sample(pts, 3)[0].tolist() == [0, 1, 2]


def test_point_grouping_uses_rgb_by_default_and_xyz_as_option() -> None:
    torch.manual_seed(0)
    pts = torch.rand(1, 256, 6)
    moved = pts.clone()
    moved[..., :3] = torch.rand(1, 256, 3)  # new xyz, same colours
    for group_on, same in (("rgb", True), ("xyz", False)):
        embed = PointPatchEmbed(6, 8, 16, 4, group_on)
        with torch.no_grad():
            embed.conv1.weight[:, :3] = 0  # features see colour only, so outputs differ only if groups differ
            a, b = embed(pts), embed(moved)
        assert a.shape == (1, 16, 8)
        assert torch.allclose(a, b) == same, group_on


def test_frames_fold_into_batch_and_fmri_is_channel_major() -> None:
    cfg = preset("tiny")
    tok, visual = ModalityTokenizers(cfg), VisionTransformer.from_config(cfg)
    x, frames = tok.embed(torch.randn(2, 15, 3, 224, 224), "video", visual)
    assert x.shape == (30, 257, 32) and frames == 15

    # fMRI: one Linear to 8·C outputs, which the release reads channel-major: token t, channel c is output c·8 + t.
    # Outputs numbered through the bias (weights zeroed), class token, positions and ln_pre neutralised.
    c, t = cfg.clip_width, cfg.fmri_tokens
    with torch.no_grad():
        tok.conv1["fmri"].weight.zero_()
        tok.conv1["fmri"].bias.copy_(torch.arange(c * t, dtype=torch.float32))
        tok.positional_embedding["fmri"].zero_()
        visual.class_embedding.zero_()
    visual.ln_pre = torch.nn.Identity()
    tokens, _ = tok.embed(torch.randn(1, 1, cfg.fmri_voxels), "fmri", visual)
    by_hand = torch.tensor([[0.0] * c] + [[float(ch * t + i) for ch in range(c)] for i in range(t)])
    assert tokens.shape == (1, t + 1, c) and torch.equal(tokens[0], by_hand)
