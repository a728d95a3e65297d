// Package train holds what a training loop needs around the model: the
// AdamW optimizer (exactly torch.optim.AdamW, with parameter groups),
// gradient clipping by global norm and learning-rate schedules.
package train
