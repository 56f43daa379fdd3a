import Foundation
import SwapEditing
import SwapIO
import SwapLang
import SwapTensor

/// The state the runtime builtins share with their session: the output folder, the folder of
/// the running script, the seed and its random stream, and the source text needed to describe
/// how an output was made.
///
/// Builtins hold the workspace strongly; the workspace holds nothing that refers back to the
/// interpreter, so there is no reference cycle.
public final class Workspace {
    /// Where outputs go; relative output paths are resolved against it. Created on first write.
    public let outputFolder: String
    /// The session seed: `randn(shape)` without a seed draws from a torch-compatible generator
    /// seeded with it (like `torch.manual_seed(seed)` once, then successive `torch.randn` calls).
    public let seed: UInt64
    /// The session's random stream.
    public let generator: TorchGenerator
    /// The folder of the script being run (input paths are tried there first).
    public var scriptFolder: String?
    /// Every file written so far, in order.
    public private(set) var writtenFiles: [String] = []

    /// Makes the progress reporter of each `run` of a process (default: one line on standard
    /// error, redrawn in place on a terminal), so standard output stays deterministic.
    public var makeProgressReporter: () -> ProgressReporter = { ProgressReporter.standardError() }

    private var sources: [String: [String]] = [:]
    private var cells: [String: [Cell]] = [:]
    private var imageCounter = 0

    public init(outputFolder: String, seed: UInt64) {
        self.outputFolder = outputFolder
        self.seed = seed
        self.generator = TorchGenerator(seed: seed)
    }

    /// Remembers a source text so outputs can quote the line that made them.
    func remember(source: String, file: String) {
        sources[file] = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        cells[file] = Interpreter.parse(source: source, file: file).program.cells
    }

    /// The text of `line` in `file` (trimmed), or "" when unknown.
    func sourceLine(_ location: SourceLocation) -> String {
        guard let lines = sources[location.file], location.line >= 1, location.line <= lines.count else { return "" }
        return lines[location.line - 1].trimmingCharacters(in: .whitespaces)
    }

    // MARK: - Paths

    /// An input path: absolute paths as given; relative ones are tried against the script's
    /// folder, then the working directory, then the output folder (so a file a script saved
    /// with a relative path loads back with the same path).
    public func resolveInput(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if let folder = scriptFolder {
            let candidate = (folder as NSString).appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        if FileManager.default.fileExists(atPath: path) { return path }
        let written = (outputFolder as NSString).appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: written) { return written }
        return path
    }

    /// An output path: absolute paths as given, relative ones under the output folder. The
    /// parent folder is created when missing.
    public func resolveOutput(_ path: String, _ op: String) throws -> String {
        guard !path.isEmpty, !path.hasSuffix("/") else { throw HostError("\(op): '\(path)' is not a file path") }
        let full = path.hasPrefix("/") ? path : (outputFolder as NSString).appendingPathComponent(path)
        let parent = (full as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw HostError("\(op): cannot create folder '\(parent)': \(error.localizedDescription)")
            }
        }
        return full
    }

    // MARK: - Describing outputs

    /// The `parameters` text for an output made by `builtin` at `location`, in the infotext
    /// style of other diffusion tools: the script line, then `Key: value` pairs. It contains
    /// nothing that varies between runs (no time, no thread count, no output folder).
    func parameters(builtin: String, at location: SourceLocation, extra: [(String, String)] = []) -> String {
        let line = sourceLine(location)
        var pairs: [(String, String)] = [("Builtin", builtin)] + extra
        pairs += [("Seed", String(seed)), ("RNG", "torch-cpu"), ("Script", location.file),
                  ("Line", String(location.line))]
        if let cell = cells[location.file]?.last(where: { $0.line <= location.line }) {
            pairs.append(("Cell", "\(cell.index) \(cell.title)".trimmingCharacters(in: .whitespaces)))
        }
        pairs.append(("Tool", "swapscript"))
        let info = pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
        return line.isEmpty ? info : line + "\n" + info
    }

    /// A file name for the next image made at `location`: `003_overlay_red.png`, using the
    /// variable the line assigns to when there is one, else the builtin's name.
    func nextImageName(builtin: String, at location: SourceLocation) -> String {
        imageCounter += 1
        var stem = builtin
        let line = sourceLine(location)
        if let eq = line.firstIndex(of: "=") {
            let lhs = line[..<eq].trimmingCharacters(in: .whitespaces)
            let after = line[line.index(after: eq)...]
            let isIdentifier = !lhs.isEmpty && lhs.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
                && !(lhs.first?.isNumber ?? true)
            if isIdentifier, !after.hasPrefix("="), lhs.unicodeScalars.allSatisfy(\.isASCII) { stem = lhs }
        }
        return String(format: "%03d_", imageCounter) + stem + ".png"
    }

    /// Writes `image` as a PNG (atomically) with its metadata, records and announces the path.
    func writePNG(_ image: Image, to path: String, _ op: String, context: CallContext) throws {
        do {
            try image.save(path)
        } catch {
            throw HostError("\(op): cannot write '\(path)': \(error)")
        }
        noteWritten(path, context: context)
    }

    /// Records a written file and prints `wrote PATH`.
    func noteWritten(_ path: String, context: CallContext) {
        writtenFiles.append(path)
        context.output("wrote \(path)")
    }

    /// Gives a freshly made image its `parameters`, writes it under the output folder and
    /// returns the image value (which remembers where it was written).
    /// The image is first rounded to the 8-bit grid, so the value equals what the file holds.
    func publish(_ image: Image, builtin: String, context: CallContext, extra: [(String, String)] = []) throws -> Value {
        var made = image.mapSamples { x in x.isNaN ? 0 : (Swift.min(Swift.max(x, 0), 1) * 255).rounded() / 255 }
        made.metadata.removeAll { $0.key == "parameters" }
        let text = parameters(builtin: builtin, at: context.location,
                              extra: extra + [("Size", "\(image.width)x\(image.height)")])
        made.metadata.insert((key: "parameters", value: text), at: 0)
        let path = try resolveOutput(nextImageName(builtin: builtin, at: context.location), builtin)
        try writePNG(made, to: path, builtin, context: context)
        return .host(ImageValue(made, path: path, madeHere: true))
    }
}
