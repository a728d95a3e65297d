// Package train trains models: the AdamW optimizer (exactly
// torch.optim.AdamW, with parameter groups), gradient clipping by global
// norm, learning-rate schedules, and the loop behind `attn train`.
//
// The loop (Trainer) runs one task on one model: causal LM on a text
// (GPT-2, nanoGPT's random windows), masked LM (BERT, 80/10/10), sequence
// classification of labelled lines (BERT, fresh or a pretrained encoder
// with a new head), seq2seq on sentence pairs (Marian, teacher forcing)
// and image classification (ViT on MNIST IDX). A run is a Config (JSON,
// presets, --key flags); it logs Records (OUT/log.jsonl), validates, and
// writes checkpoints OUT/ckpt-NNNNNNN that load as Hugging Face models
// and resume bit for bit (atomic: staged, synced, renamed).
//
// Preference learning (prefs.go, reward.go, dpo.go, ppo.go): JSONL
// {prompt, chosen, rejected} pairs and an offline generator of them, a
// Bradley–Terry reward model, DPO (sigmoid or IPO) and RLHF with PPO as
// TRL's PPOTrainer does it. Their losses are float64 closed forms with
// their gradients (align_math.go, pinned to PyTorch); the trainers feed
// those gradients through the model as a linear surrogate (surrogate.go).
// RunDemo is `attn align demo`, the whole pipeline on labelled sentences.
//
// Reproduce is the PyTorch-comparable mode: AdamW over every parameter
// on pre-tokenized batches, the loss transformers' head computes with
// labels=, and a dump of losses, gradients and parameters.
package train
