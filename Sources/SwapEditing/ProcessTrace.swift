/// Per-step named numeric series of a process: one row per completed step, any number of
/// columns (`t`, `loss`, `grad_norm`, `inner_iterations`, ...). A process adds the columns it
/// has; a row that lacks a column holds NaN there, so every column has one value per row.
public struct ProcessTrace: Sendable, Equatable {
    /// The step index of each row (the process's ``Process/index`` before that step).
    public private(set) var steps: [Int] = []
    /// Column names in first-recorded order.
    public private(set) var columns: [String] = []
    private var values: [String: [Double]] = [:]

    public init() {}

    /// Number of rows.
    public var count: Int { steps.count }

    /// Appends the row of step `step`; new column names are added (earlier rows get NaN).
    public mutating func record(step: Int, _ row: [(String, Double)]) {
        for (name, _) in row where values[name] == nil {
            columns.append(name)
            values[name] = Array(repeating: .nan, count: steps.count)
        }
        steps.append(step)
        for name in columns { values[name]?.append(.nan) }
        for (name, value) in row { values[name]?[steps.count - 1] = value }
    }

    /// The series of column `name` (nil when never recorded).
    public func series(_ name: String) -> [Double]? { values[name] }

    /// The last value of column `name`.
    public func last(_ name: String) -> Double? { values[name]?.last }

    /// Drops the rows of steps ≥ `index` (after rewinding).
    public mutating func truncate(toStepsBefore index: Int) {
        let keep = steps.firstIndex { $0 >= index } ?? steps.count
        steps.removeLast(steps.count - keep)
        for name in columns { if let series = values[name] { values[name] = Array(series.prefix(keep)) } }
    }
}
