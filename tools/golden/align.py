"""Golden fixtures for preference learning (train/align_math.go).

Re-implements, in PyTorch float64 with autograd, the pieces of TRL's v0.x
PPOTrainer (core.masked_mean / masked_var / masked_whiten / clip_by_value,
PPOTrainer.compute_rewards / compute_advantages / loss,
AdaptiveKLController), TRL's DPOTrainer.dpo_loss (sigmoid and ipo) and the
Bradley-Terry loss of RewardTrainer, on fixed random tensors, and writes
inputs, outputs and gradients to testdata/align/golden.json.

Run: /usr/bin/python3 tools/golden/align.py   (torch 1.13)
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(15)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "align", "golden.json")


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def L(x):
    return x.detach().reshape(-1).tolist()


# --- trl.core -------------------------------------------------------------
def masked_mean(values, mask, axis=None):
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    return (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    mean = masked_mean(values, mask)
    centered_values = values - mean
    variance = masked_mean(centered_values ** 2, mask)
    if unbiased:
        mask_sum = mask.sum()
        bessel_correction = mask_sum / (mask_sum - 1)
        variance = variance * bessel_correction
    return variance


def masked_whiten(values, mask, shift_mean=True):
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


def clip_by_value(x, tensor_min, tensor_max):
    return torch.max(torch.min(x, tensor_max), tensor_min)


# --- PPOTrainer ------------------------------------------------------------
def compute_rewards(scores, logprobs, ref_logprobs, masks, kl_coef):
    rewards, non_score_rewards = [], []
    for score, logprob, ref_logprob, mask in zip(scores, logprobs, ref_logprobs, masks):
        kl = logprob - ref_logprob
        non_score_reward = -kl_coef * kl
        non_score_rewards.append(non_score_reward)
        reward = non_score_reward.clone()
        last_non_masked_index = mask.nonzero()[-1]
        reward[last_non_masked_index] += score
        rewards.append(reward)
    return torch.stack(rewards), torch.stack(non_score_rewards)


def compute_advantages(values, rewards, mask, gamma, lam):
    lastgaelam = 0
    advantages_reversed = []
    gen_len = rewards.shape[-1]
    values = values * mask
    rewards = rewards * mask
    for t_ in reversed(range(gen_len)):
        nextvalues = values[:, t_ + 1] if t_ < gen_len - 1 else 0.0
        delta = rewards[:, t_] + gamma * nextvalues - values[:, t_]
        lastgaelam = delta + gamma * lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1]).transpose(0, 1)
    returns = advantages + values
    advantages = masked_whiten(advantages, mask)
    return values, advantages.detach(), returns


def ppo_loss(old_logprobs, values, vpreds, logprobs, mask, advantages, returns, cliprange, cliprange_value, vf_coef):
    vpredclipped = clip_by_value(vpreds, values - cliprange_value, values + cliprange_value)
    vf_losses1 = (vpreds - returns) ** 2
    vf_losses2 = (vpredclipped - returns) ** 2
    vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), mask)
    vf_clipfrac = masked_mean(torch.gt(vf_losses2, vf_losses1).double(), mask)
    ratio = torch.exp(logprobs - old_logprobs)
    pg_losses = -advantages * ratio
    pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    pg_loss = masked_mean(torch.max(pg_losses, pg_losses2), mask)
    pg_clipfrac = masked_mean(torch.gt(pg_losses2, pg_losses).double(), mask)
    loss = pg_loss + vf_coef * vf_loss
    approxkl = 0.5 * masked_mean((logprobs - old_logprobs) ** 2, mask)
    policykl = masked_mean(old_logprobs - logprobs, mask)
    return loss, pg_loss, vf_loss, pg_clipfrac, vf_clipfrac, approxkl, policykl


class AdaptiveKLController:
    def __init__(self, init_kl_coef, target, horizon):
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current, n_steps):
        proportional_error = np.clip(current / self.target - 1, -0.2, 0.2)
        mult = 1 + proportional_error * n_steps / self.horizon
        self.value *= mult


# --- DPO and Bradley-Terry -------------------------------------------------
def dpo_loss(pc, pr, rc, rr, beta, loss_type):
    logits = (pc - pr) - (rc - rr)
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * logits)
    else:  # ipo
        losses = (logits - 1 / (2 * beta)) ** 2
    return losses.mean(), beta * (pc - rc).detach(), beta * (pr - rr).detach()


fx = {}

# Bradley-Terry.
rc, rr = t(rng.normal(size=9), True), t(rng.normal(size=9), True)
loss = -F.logsigmoid(rc - rr).mean()
loss.backward()
fx["bt"] = dict(chosen=L(rc), rejected=L(rr), loss=loss.item(), d_chosen=L(rc.grad), d_rejected=L(rr.grad),
                accuracy=float((rc > rr).double().mean()))

# DPO, both losses, two betas.
fx["dpo"] = []
for beta, kind in [(0.1, "sigmoid"), (0.5, "sigmoid"), (0.1, "ipo"), (0.5, "ipo")]:
    pc, pr = t(rng.normal(-20, 3, size=7), True), t(rng.normal(-20, 3, size=7), True)
    rc, rr = t(rng.normal(-20, 3, size=7)), t(rng.normal(-20, 3, size=7))
    loss, rwc, rwr = dpo_loss(pc, pr, rc, rr, beta, kind)
    loss.backward()
    fx["dpo"].append(dict(beta=beta, loss_type=kind, policy_chosen=L(pc), policy_rejected=L(pr), ref_chosen=L(rc),
                          ref_rejected=L(rr), loss=loss.item(), d_chosen=L(pc.grad), d_rejected=L(pr.grad),
                          rewards_chosen=L(rwc), rewards_rejected=L(rwr)))

# Whitening, with a mask.
B, T = 3, 7
x = t(rng.normal(1.5, 2, size=(B, T)))
mask = t((rng.random((B, T)) > 0.3).astype(np.float64))
fx["whiten"] = dict(b=B, t=T, x=L(x), mask=L(mask), shift=L(masked_whiten(x, mask, True)),
                    noshift=L(masked_whiten(x, mask, False)))

# compute_rewards + GAE: masks with trailing padding (a response ended early).
mask = np.ones((B, T))
mask[1, 5:] = 0
mask[2, 3:] = 0
mask = t(mask)
scores = t(rng.normal(size=B))
logprobs, ref_logprobs = t(rng.normal(-2, 1, size=(B, T))), t(rng.normal(-2, 1, size=(B, T)))
values = t(rng.normal(size=(B, T)))
rewards, non_score = compute_rewards(scores, logprobs, ref_logprobs, mask, 0.2)
_, adv, returns = compute_advantages(values, rewards, mask, 1.0, 0.95)
_, adv2, returns2 = compute_advantages(values, rewards, mask, 0.9, 0.8)
fx["gae"] = dict(b=B, t=T, scores=L(scores), logprobs=L(logprobs), ref_logprobs=L(ref_logprobs), values=L(values),
                 mask=L(mask), kl_coef=0.2, rewards=L(rewards), non_score=L(non_score),
                 cases=[dict(gamma=1.0, lam=0.95, advantages=L(adv), returns=L(returns)),
                        dict(gamma=0.9, lam=0.8, advantages=L(adv2), returns=L(returns2))])

# PPO clipped objective: ratios and value moves on both sides of the clip ranges.
B, T = 4, 6
old = t(rng.normal(-2, 1, size=(B, T)))
new = t(old.numpy() + rng.uniform(-0.5, 0.5, size=(B, T)), True)
vals = t(rng.normal(size=(B, T)))
vpreds = t(vals.numpy() + rng.uniform(-0.5, 0.5, size=(B, T)), True)
mask = np.ones((B, T))
mask[3, 4:] = 0
mask = t(mask)
adv = t(rng.normal(size=(B, T)))
rets = t(rng.normal(size=(B, T)))
loss, pg, vf, pgc, vfc, akl, pkl = ppo_loss(old, vals, vpreds, new, mask, adv, rets, 0.2, 0.2, 0.1)
loss.backward()
fx["ppo"] = dict(b=B, t=T, old_logprobs=L(old), values=L(vals), logprobs=L(new), vpreds=L(vpreds), mask=L(mask),
                 advantages=L(adv), returns=L(rets), cliprange=0.2, cliprange_value=0.2, vf_coef=0.1,
                 loss=loss.item(), pg_loss=pg.item(), vf_loss=vf.item(), pg_clipfrac=pgc.item(), vf_clipfrac=vfc.item(),
                 approxkl=akl.item(), policykl=pkl.item(), d_logprobs=L(new.grad), d_vpreds=L(vpreds.grad))

# Adaptive KL controller over a few updates.
kl = AdaptiveKLController(0.2, 6.0, 10000)
seq = [(0.5, 64), (12.0, 64), (6.6, 256), (5.0, 32)]
vals_kl = []
for cur, n in seq:
    kl.update(cur, n)
    vals_kl.append(kl.value)
fx["adaptive_kl"] = dict(init=0.2, target=6.0, horizon=10000, updates=[list(s) for s in seq], values=vals_kl)

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(fx, f, indent=1)
print("wrote", os.path.normpath(OUT))
