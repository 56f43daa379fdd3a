// SwapWorld: the ShapesWorld scene generator, its recognizer, and the training of the embedded
// default model.
