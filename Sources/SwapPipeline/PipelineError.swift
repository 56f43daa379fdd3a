/// A wrong argument to the pipeline (prompt batch, latent shape, size, step count): says which
/// argument and what was expected. Model and scheduler failures keep their own error types.
public struct PipelineError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Which diffusers scheduler class a pipeline samples with, built from the checkpoint's
/// `scheduler_config.json` read with that class's defaults (as `Scheduler.from_config` does).
public enum SchedulerChoice: Sendable, Equatable {
    /// `DDIMScheduler` with η.
    case ddim(eta: Float = 0)
    /// `DDPMScheduler` (draws noise every step).
    case ddpm
    /// `EulerDiscreteScheduler`.
    case eulerDiscrete
}
