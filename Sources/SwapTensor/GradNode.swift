/// One backward record on the autograd graph (placeholder, completed in Autograd.swift).
public final class GradNode: @unchecked Sendable {}
