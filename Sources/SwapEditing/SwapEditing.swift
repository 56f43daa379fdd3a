// SwapEditing: everything that runs over time (samplers, inversions, score distillation,
// Prompt-to-Prompt, BARET, …) as steppable processes, plus attention capture and controllers.
