/// The inference timestep lists of `set_timesteps` in diffusers' DDIM, DDPM, DDIM-inverse and
/// Euler schedulers, reproduced with numpy's double-precision `arange`/`linspace`/`round`
/// (round half to even), so the lists are exactly equal, not merely close.
public enum Timesteps {
    /// Checks `steps` against the training range the way `set_timesteps` does.
    static func validate(_ steps: Int, _ config: SchedulerConfig) throws {
        guard steps >= 1, steps <= config.numTrainTimesteps else {
            throw SchedulerError.invalidArgument(
                "step count \(steps) must be in 1...\(config.numTrainTimesteps) (num_train_timesteps)")
        }
    }

    /// Descending integer timesteps for DDIM and DDPM (`set_timesteps(steps)`).
    /// - leading: (0, k, …, (steps−1)·k) reversed, + `steps_offset`, with k = T // steps;
    /// - trailing: round(arange(T, 0, −T/steps)) − 1;
    /// - linspace: round(linspace(0, T−1, steps)) reversed.
    public static func discrete(steps: Int, config: SchedulerConfig) throws -> [Int] {
        try validate(steps, config)
        let n = config.numTrainTimesteps
        switch config.timestepSpacing {
        case .leading:
            let k = n / steps
            return (0..<steps).reversed().map { $0 * k + config.stepsOffset }
        case .trailing:
            return numpyArange(start: Double(n), stop: 0, step: -Double(n) / Double(steps))
                .map { Int($0.rounded(.toNearestOrEven)) - 1 }
        case .linspace:
            return numpyLinspace(0, Double(n - 1), steps).reversed().map { Int($0.rounded(.toNearestOrEven)) }
        }
    }

    /// Ascending integer timesteps of `DDIMInverseScheduler.set_timesteps(steps)`: leading gives
    /// (0, k, …)+offset, trailing the reversed trailing list. diffusers has no linspace inversion.
    public static func inversion(steps: Int, config: SchedulerConfig) throws -> [Int] {
        guard config.timestepSpacing != .linspace else {
            throw SchedulerError.invalidArgument(
                "DDIM inversion supports leading or trailing timestep_spacing, not linspace (as diffusers' DDIMInverseScheduler)")
        }
        return try discrete(steps: steps, config: config).reversed()
    }

    /// Descending float32 timesteps of `EulerDiscreteScheduler.set_timesteps(steps)`; linspace keeps
    /// the unrounded float32 values.
    public static func euler(steps: Int, config: SchedulerConfig) throws -> [Float] {
        try validate(steps, config)
        switch config.timestepSpacing {
        case .linspace:
            return numpyLinspace(0, Double(config.numTrainTimesteps - 1), steps).reversed().map { Float($0) }
        case .leading, .trailing:
            // Same integers as DDIM's list (the float32 add of the offset is exact).
            return try discrete(steps: steps, config: config).map { Float($0) }
        }
    }

    /// `numpy.arange(start, stop, step)` for doubles: length ceil((stop − start)/step), values
    /// start + i·δ where δ = (start + step) − start, as numpy's fill computes them.
    static func numpyArange(start: Double, stop: Double, step: Double) -> [Double] {
        let length = Int(((stop - start) / step).rounded(.up))
        guard length > 0 else { return [] }
        let delta = (start + step) - start
        return (0..<length).map { i in i == 0 ? start : (i == 1 ? start + step : start + Double(i) * delta) }
    }

    /// `numpy.linspace(start, stop, count)` in double: i·((stop − start)/(count − 1)) + start,
    /// with the last value set to `stop` exactly.
    static func numpyLinspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }
}
