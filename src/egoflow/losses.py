"""Contrastive losses of video-language pretraining (shared/notes/counterfactual-pretraining.md §5.2-5.4).

Every loss takes GLOBAL tensors (already all-gathered, `egoflow.distributed`) and `rows`, the anchor rows this
process averages over: slice(None) in one process, `local_rows(n)` under DDP. With `gather_with_grad` on the
trainable side that gives exactly the single-process gradient of the global-batch mean (see distributed.py).
Rows are whatever the batch holds: with scene-aware negatives (digest §2.1) each process's batch is its
anchors followed by their negatives, and both kinds are anchors and candidates alike, as upstream.

Similarities are cosines (both sides L2-normalised); τ = 0.05. Losses are returned UNWEIGHTED: the child loss
is align + STATE_WEIGHT · state, and the caller applies the weight from its config.

Upstream: HCIS-Lab/state-change-counterfactual-video-pretrain `model/loss.py` (`InfoNCE.forward_align`,
`forward_tcn`, `forward_cf`; ablation settings at commit 8d3473b), showlab/EgoVLP `model/loss.py` (`EgoNCE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

TEMPERATURE = 0.05
STATE_WEIGHT = 0.2  # child loss = align + 0.2 · state (digest §5.2); applied by the caller
EPS = 1e-8  # upstream's stabiliser in the state and summary losses; with τ = 0.05, e^{s/τ} ≥ e^{-20} ≈ 2e-9

StateVariant = Literal["before", "before_after", "counterfactual"]
ParentCounterfactuals = Literal["both", "key", "order", "none"]


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[n, D], [m, D] -> [n, m] cosine similarities, in float32 or wider even under bf16 autocast.

    (A bf16 cosine is off by up to ~4e-3, which at τ = 0.05 moves a logit by ~0.08.)
    """
    with torch.autocast(a.device.type, enabled=False):
        a, b = (x.float() if x.dtype in (torch.float16, torch.bfloat16) else x for x in (a, b))
        return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T


def tag_positive_mask(verb_hot: torch.Tensor, noun_hot: torch.Tensor) -> torch.Tensor:
    """EgoNCE positives: i == j, or i and j share at least one verb AND at least one noun class.

    verb_hot [N, V], noun_hot [N, Nn]: multi-hot (bool or 0/1) tag vectors. Returns bool [N, N].
    (Upstream tests cos(multi-hot) > 0, which for non-negative vectors is "share one class".)
    """
    verb = verb_hot.float()
    noun = noun_hot.float()
    shared = (verb @ verb.T > 0) & (noun @ noun.T > 0)
    return shared | torch.eye(len(verb), dtype=torch.bool, device=verb.device)


def _plus_eps(logits: torch.Tensor, eps: float) -> torch.Tensor:
    """log(e^x + eps): upstream adds eps to exponentiated similarities; this keeps it in log space."""
    return torch.logaddexp(logits, torch.full_like(logits, math.log(eps))) if eps > 0 else logits


def _multi_positive_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """[n, M] logits, bool [n, M] positives -> [n] -log(Σ_pos softmax)."""
    return torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~positives, -math.inf), 1)


def egonce(
    video: torch.Tensor,
    text: torch.Tensor,
    positives: torch.Tensor,
    temperature: float = TEMPERATURE,
    symmetric: bool = False,
    rows: slice = slice(None),
) -> torch.Tensor:
    """EgoNCE alignment: -mean_i log Σ_j P_ij softmax_j(S_ij / τ), S = cos(video_i, text_j).

    video, text [N, D]; positives bool [N, N] (tag_positive_mask). The counterfactual method uses video->text
    only (digest §5.2.1). symmetric=True adds the text->video term as EgoVLP / HierVL do: EgoVLP's EgoNCE
    returns the SUM of the two directions (-loss_i - loss_j), each a mean over anchors; so does this.
    """
    v2t = _multi_positive_nce(cosine(video[rows], text) / temperature, positives[rows])
    loss = v2t.mean()
    if symmetric:
        t2v = _multi_positive_nce(cosine(text[rows], video) / temperature, positives.T[rows])
        loss = loss + t2v.mean()
    return loss


def _anchor_nce(
    anchor: torch.Tensor,
    positives: list[torch.Tensor],
    negatives: list[torch.Tensor],
    rows: slice,
    temperature: float,
    eps: float,
) -> torch.Tensor:
    """ℓ_i = -½ Σ_p log((e^{s(a_i, p_i)/τ} + eps) / D_i), D_i = Σ_j Σ_X e^{s(a_i, X_j)/τ} + N·eps.

    anchor [n, D] (this process's rows); positives / negatives: lists of GLOBAL [N, D] candidate sets. The
    positive of anchor i in set p is row i of p (its own frame or text); every row j of every set is in the
    denominator. eps enters as upstream: once per positive in the numerator, once per row j in the
    denominator. The factor is a fixed ½ (upstream's `tcn /= 2`), also when an anchor has a single positive.
    """
    sets = positives + negatives
    n, n_global = len(anchor), sets[0].shape[0]
    logits = (cosine(anchor, torch.cat(sets)) / temperature).view(n, len(sets), n_global)  # [n, S, N]
    own = torch.arange(n_global, device=anchor.device)[rows]  # [n] column of each anchor's own row
    i = torch.arange(n, device=anchor.device)
    pos = _plus_eps(logits[i, : len(positives), own], eps)  # [n, P]
    pool = logits.flatten(1)  # [n, S·N]
    if eps > 0:
        pool = torch.cat([pool, pool.new_full((n, 1), math.log(n_global * eps))], 1)
    return -0.5 * (pos - torch.logsumexp(pool, 1, keepdim=True)).sum(1)


def state_change_loss(
    frames: torch.Tensor,
    before: torch.Tensor,
    after: torch.Tensor,
    counterfactuals: torch.Tensor | None,
    temperature: float = TEMPERATURE,
    variant: StateVariant = "counterfactual",
    rows: slice = slice(None),
    eps: float = EPS,
) -> torch.Tensor:
    """State-change + counterfactual frame loss (upstream `forward_tcn`), unweighted: mean_i (ℓ0_i + ℓ3_i)/2.

    frames [N, 4, D] (frame_proj outputs f0..f3), before / after [N, D] (Before / After text),
    counterfactuals [N, 3, D] (CF 1-3 text; unused, may be None, unless variant is "counterfactual").
    Anchors are the first frame f0 and the last frame f3 of each of this process's rows; candidates are the
    listed sets over EVERY row of the global batch (ℓ as in `_anchor_nce`):

    variant           f0: positives | other candidates    f3: positives | other candidates     settings
    "counterfactual"  f1, Before    | f3, After, CF1-3     f2, After     | f0, Before, CF1-3    0, 4-6
    "before_after"    f1, Before    | f3, After            f2, After     | f0, Before           3
    "before"          f1, Before    | f3                   f2            | f0, Before           2

    "before" is upstream's setting 2 read literally (commit 8d3473b): no After text anywhere; the first frame
    is pulled to its neighbour and its Before text, the last frame only to its neighbour, and Before texts are
    negatives for the last frame. ℓ3 keeps the fixed ½, so it is half the single log-ratio.
    """
    f0, f1, f2, f3 = frames.unbind(1)  # [N, D] each
    if variant == "counterfactual":
        if counterfactuals is None:
            raise ValueError("state_change_loss: variant 'counterfactual' needs the counterfactual texts")
        cfs = list(counterfactuals.unbind(1))
        first = ([f1, before], [f3, after, *cfs])
        last = ([f2, after], [f0, before, *cfs])
    elif variant == "before_after":
        first = ([f1, before], [f3, after])
        last = ([f2, after], [f0, before])
    elif variant == "before":
        first = ([f1, before], [f3])
        last = ([f2], [f0, before])
    else:
        raise ValueError(f"state_change_loss: unknown variant {variant!r}")
    l0 = _anchor_nce(f0[rows], *first, rows, temperature, eps)
    l3 = _anchor_nce(f3[rows], *last, rows, temperature, eps)
    return ((l0 + l3) / 2).mean()


def summary_loss(
    video: torch.Tensor,
    summary: torch.Tensor,
    counterfactuals: torch.Tensor | None,
    positives: torch.Tensor,
    temperature: float = TEMPERATURE,
    rows: slice = slice(None),
    eps: float = EPS,
) -> torch.Tensor:
    """Video-level summary loss (upstream `forward_cf`), video->text only:

        -mean_i log( Σ_j P_ij (e^{S_ij/τ} + eps) / [Σ_j (e^{S_ij/τ} + eps) + Σ_{j,k} e^{cos(V_i, CF_jk)/τ}] )

    video [B, D] aggregated parent embeddings, summary [B, D] summary text, counterfactuals [B, K, D] (every
    one of the B·K counterfactual summaries is a negative for every video) or None for plain InfoNCE,
    positives bool [B, B] (tag_positive_mask of the summary tags; usually the diagonal).
    """
    logits = _plus_eps(cosine(video[rows], summary) / temperature, eps)  # [n, B]
    pool = logits
    if counterfactuals is not None:
        pool = torch.cat([logits, cosine(video[rows], counterfactuals.flatten(0, 1)) / temperature], 1)
    log_numerator = torch.logsumexp(logits.masked_fill(~positives[rows], -math.inf), 1)
    return (torch.logsumexp(pool, 1) - log_numerator).mean()


@dataclass(frozen=True)
class LossSetting:
    """Which terms the counterfactual method trains with: the ablation settings 0-6 of digest §5.4.

    state: the clip-level state-change term (`state_change_loss` variant, or "off").
    parent: which counterfactual summaries are negatives in `summary_loss` ("none" = plain InfoNCE).

    setting  state            parent  digest §5.4
    0        counterfactual   both    everything (the released method)
    1        off              none    align only (no state loss)
    2        before           none    Before only
    3        before_after     none    Before + After (no CF)
    4        counterfactual   none    full clip level with CF; parent plain InfoNCE
    5        counterfactual   key     parent with only the key (missing-step) CFs, `[10:]`
    6        counterfactual   order   parent with only the order (misordered) CFs, `[:10]`

    Upstream sliced the counterfactuals after a `.view(20, B, D)` of the gathered [B, 20, D] tensor (digest
    §5.3), so its settings 5 and 6 selected videos rather than CF kinds; here they select the kinds, as meant.
    """

    state: Literal["off", "before", "before_after", "counterfactual"] = "counterfactual"
    parent: ParentCounterfactuals = "both"

    @classmethod
    def from_setting(cls, k: int) -> LossSetting:
        if k not in SETTINGS:
            raise ValueError(f"loss setting must be one of {sorted(SETTINGS)}, got {k!r}")
        return SETTINGS[k]

    def parent_counterfactuals(self, counterfactuals: torch.Tensor | None) -> torch.Tensor | None:
        """[B, 2K, D] counterfactual summaries, K order then K key (upstream 10 + 10) -> the negatives."""
        if self.parent == "none" or counterfactuals is None:
            return None
        if counterfactuals.shape[1] % 2:
            k = counterfactuals.shape[1]
            raise ValueError(f"counterfactual summaries: expected order + key halves, got {k} per video")
        half = counterfactuals.shape[1] // 2
        if self.parent == "order":
            return counterfactuals[:, :half]
        if self.parent == "key":
            return counterfactuals[:, half:]
        return counterfactuals


SETTINGS = {
    0: LossSetting("counterfactual", "both"),
    1: LossSetting("off", "none"),
    2: LossSetting("before", "none"),
    3: LossSetting("before_after", "none"),
    4: LossSetting("counterfactual", "none"),
    5: LossSetting("counterfactual", "key"),
    6: LossSetting("counterfactual", "order"),
}


# --- evaluate: fine-tuning losses (EPIC-100 MIR multi-instance max-margin, Charades-Ego multi-label) -----


def mi_max_margin(
    sim: torch.Tensor, weight: torch.Tensor, margin: float = 0.2, rel: torch.Tensor | None = None
) -> torch.Tensor:
    """Multi-instance max-margin ranking with relevancy margins, as EgoVLP's AdaptiveMaxMarginRankingLoss.

    sim [B, B] clip x caption similarities of a batch (row i's positive is column i: a caption sampled among
    those relevant to clip i), weight [B] the relevancy of each positive pair. For every off-diagonal pair,
    both directions: relu(m_i - (s_ii - s_ij)) and relu(m_i - (s_ii - s_ji)) with m_i = margin * weight_i,
    so a weaker positive asks for a smaller margin; mean over the 2 B (B - 1) terms. rel [B, B] (not
    upstream, off by default): clip i x caption j relevancies, scaling each pair's margin by 1 - rel as well
    (1 - rel_ij for clip i against caption j, 1 - rel_ji for caption i against clip j).
    """
    b = sim.shape[0]
    diag = sim.diagonal()[:, None]  # [B, 1]
    m = margin * weight.to(sim.dtype)[:, None].expand(b, b)  # [B, B], row i's margin
    m_v2t, m_t2v = (m, m) if rel is None else (m * (1 - rel), m * (1 - rel.T))
    off = ~torch.eye(b, dtype=torch.bool, device=sim.device)
    v2t = F.relu(m_v2t - (diag - sim))[off]  # row i's positive against the other captions j
    t2v = F.relu(m_t2v - (diag - sim.T))[off]  # ... and against the other clips j
    return torch.cat([v2t, t2v]).mean()


def multilabel_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Charades-Ego fine-tuning: binary cross-entropy per class over multi-hot targets [B, C], mean."""
    return F.binary_cross_entropy_with_logits(logits, targets.float())


# --- CARL: the sequence contrastive loss (object-states-lta-carl.md) -------------------------------------


def sequence_contrastive_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    steps1: torch.Tensor,
    steps2: torch.Tensor,
    mask1: torch.Tensor,
    mask2: torch.Tensor,
    *,
    variance: float = 10.0,
    temperature: float = 0.1,
) -> torch.Tensor:
    """CARL's SCL: KL(prior || prediction) between two views of each video, averaged over valid frames.

    z1, z2 [B, T, D] L2-normalised projections; steps [B, T] original frame indices; masks [B, T] bool (valid).
    Prior for frame i of one view over frames j of the other: softmax_j(-(s_i - s_j)² / (2·variance));
    prediction: softmax_j(z_i·z_j / temperature) over the other view only ("single_noself"), invalid frames
    weighted 1e-6 in its normaliser and at distance 1e6 in the prior, as upstream."""

    def one_way(za, zb, sa, sb, ma, mb):
        logits = za @ zb.transpose(1, 2) / temperature  # [B, T, T]
        valid = ma[:, :, None] & mb[:, None, :]
        dist = (sa[:, :, None].float() - sb[:, None, :].float()).abs()
        dist = torch.where(valid, dist, torch.full_like(dist, 1e6))
        prior = torch.softmax(-dist.square() / (2.0 * variance), dim=-1)
        weights = torch.where(mb[:, None, :], 1.0, 1e-6).to(logits.dtype)
        shift = logits.amax(-1, keepdim=True).detach()
        q = torch.exp(logits - shift) / (weights * torch.exp(logits - shift)).sum(-1, keepdim=True)
        kl = prior * (torch.log(prior.clamp_min(1e-30)) - torch.log(q + 1e-6))
        return (kl * valid).sum()

    n_valid = (mask1.sum() + mask2.sum()).clamp_min(1)
    total = one_way(z1, z2, steps1, steps2, mask1, mask2) + one_way(z2, z1, steps2, steps1, mask2, mask1)
    return total / n_valid


# --- S-GEAR: anticipation losses (sgear-anticipation.md) ---------------------------------------------------
# Weights (§3.4): cls 1, past 1 (frames) / 0 (features), feat 1, sem 4 (frames) / 0 (features), reg 1.


def sgear_semantic_loss(
    similarities: torch.Tensor, language: torch.Tensor, target: torch.Tensor, eps: float = 1e-8
) -> torch.Tensor:
    """NormalizedL1: sum_c |s_c / ||s||_1 - l_c / ||l||_1|, batch mean over labelled samples.

    similarities [B, A] = cos(predicted feature, visual prototypes); language [A, A] the language cosine matrix
    (its row y is the true action's similarity profile); target [B] (-1 = unlabelled, skipped)."""
    keep = target >= 0
    if not keep.any():
        return similarities.sum() * 0
    s = similarities[keep]
    profile = language[target[keep]].to(s.dtype)  # [B', A]
    s = s / s.abs().sum(-1, keepdim=True).clamp_min(eps)
    profile = profile / profile.abs().sum(-1, keepdim=True).clamp_min(eps)
    return (s - profile).abs().sum(-1).mean()


def sgear_prototype_regularisation(
    future_z: torch.Tensor, prototypes: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """NormedMSE: ||norm(z) - norm(P[y].detach())||^2 summed over dims (= 2 - 2 cos), batch mean."""
    keep = target >= 0
    if not keep.any():
        return future_z.sum() * 0
    z = F.normalize(future_z[keep], dim=-1)
    p = F.normalize(prototypes[target[keep]].detach(), dim=-1)
    return ((z - p) ** 2).sum(-1).mean()


def sgear_losses(outputs: dict, target: torch.Tensor, past: torch.Tensor, language: torch.Tensor) -> dict:
    """All S-GEAR terms (unweighted; the training loop applies the weights): cls, past, feat, sem, reg."""
    logits, past_logits = outputs["logits"], outputs["past_logits"]
    cls = F.cross_entropy(logits, target, ignore_index=-1) if (target >= 0).any() else logits.sum() * 0
    if (past >= 0).any():
        past_loss = F.cross_entropy(past_logits.flatten(0, 1), past.flatten(), ignore_index=-1)
    else:
        past_loss = past_logits.sum() * 0
    pred, feats = outputs["pred"], outputs["feats"]
    # next-frame feature: prediction i against frame i + 1 (targets detached, so features cannot collapse)
    feat = F.mse_loss(pred[:, :-1], feats[:, 1:].detach())
    return {
        "cls": cls,
        "past": past_loss,
        "feat": feat,
        "sem": sgear_semantic_loss(outputs["similarities"], language, target),
        "reg": sgear_prototype_regularisation(outputs["future_z"], outputs["prototypes"], target),
    }
