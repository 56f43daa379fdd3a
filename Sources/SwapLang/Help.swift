// Help text for `help`, `help name`, `?name`, and the Markdown reference (`docs/builtins.md`).
extension BuiltinRegistry {
    /// `help name`: signature, family, doc, parameters and example. Without a name: every
    /// builtin grouped by family.
    public func helpText(for name: String?) -> String {
        guard let name else { return helpIndex() }
        guard let b = lookup(name) else {
            let close = all.map(\.name).filter { $0.hasPrefix(String(name.prefix(2))) }
            return "no builtin named '\(name)'" + (close.isEmpty ? "" : "; did you mean: \(close.joined(separator: ", "))?")
        }
        var lines = ["\(b.signatureText)   [\(b.family)]", "  \(b.doc)"]
        let described = b.params.filter { $0.kind != .any || !$0.doc.isEmpty }
        if !described.isEmpty {
            lines.append("  parameters:")
            for p in described {
                lines.append("    \(p.name): \(p.kind)" + (p.doc.isEmpty ? "" : " – \(p.doc)"))
            }
        }
        lines.append("  example: \(b.example)")
        return lines.joined(separator: "\n")
    }

    /// All builtins grouped by family, one family per line.
    public func helpIndex() -> String {
        var lines = ["builtins (help name for details):"]
        for family in families {
            let names = all.filter { $0.family == family }.map(\.name)
            lines.append("  \(family): \(names.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }

    /// Markdown reference of every builtin, by family (written to `docs/builtins.md`).
    public func markdownReference() -> String {
        var md = "# SwapScript builtins\n\n"
        md += "Generated from the builtin registry. Call with positional or named arguments: "
        md += "`f(a, name: value)`.\n"
        for family in families {
            md += "\n## \(family)\n"
            for b in all where b.family == family {
                md += "\n### `\(b.signatureText)`\n\n\(b.doc)\n\n"
                if !b.params.isEmpty {
                    md += "| parameter | kind | default | notes |\n| --- | --- | --- | --- |\n"
                    for p in b.params {
                        let def = p.variadic ? "(variadic)" : p.defaultText.map { "`\($0)`" } ?? "required"
                        md += "| `\(p.name)` | \(p.kind) | \(def) | \(p.doc.replacingPipes()) |\n"
                    }
                    md += "\n"
                }
                md += "```\n\(b.example)\n```\n"
            }
        }
        return md
    }
}

extension Interpreter {
    func helpText(for name: String?) -> String { registry.helpText(for: name) }
}

extension String {
    fileprivate func replacingPipes() -> String {
        split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
    }
}
