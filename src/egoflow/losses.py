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


# --- CARL: the sequence contrastive loss (object-states-lta-carl.md) -------------------------------------


# --- S-GEAR: anticipation losses (sgear-anticipation.md) ---------------------------------------------------
