/// A scheduler failure that a user can act on: a bad `scheduler_config.json`, an option this
/// package does not implement, or a call that does not fit the configured schedule.
///
/// Every case names what was wrong (file and key for configuration errors), so a mistake typed at
/// the REPL or a broken checkpoint folder becomes a message, never a crash.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// `file` could not be read or is not a JSON object.
    case unreadableConfig(file: String, reason: String)
    /// `key` in `file` has a value of the wrong type or outside its allowed range or set.
    case malformedConfig(file: String, key: String, reason: String)
    /// `key` in `file` asks for a diffusers feature this package does not implement.
    case unsupportedConfig(file: String, key: String, value: String)
    /// A call that does not fit the schedule (step count, timestep not in the list, shapes, missing noise).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unreadableConfig(file, reason):
            return "scheduler config \(file): \(reason)"
        case let .malformedConfig(file, key, reason):
            return "scheduler config \(file): key \"\(key)\" \(reason)"
        case let .unsupportedConfig(file, key, value):
            return "scheduler config \(file): key \"\(key)\" = \(value) is not supported by SwapSchedulers"
        case let .invalidArgument(message):
            return "scheduler: \(message)"
        }
    }
}
