package model

// StoredInOut reports whether the checkpoint stores the named parameter
// as [in, out] (a GPT-2 Conv1D weight) while NamedParameters holds it as
// nn.Linear's [out, in]: a writer of Hugging Face names and shapes (a
// gradient dump, a checkpoint) transposes those.
func StoredInOut(m Model, name string) bool { return baseOf(m).inOut[name] }
