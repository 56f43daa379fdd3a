import SwapModels
import SwapTensor

// Matches google/prompt-to-prompt seq_aligner.py (get_word_inds, get_replacement_mapper_,
// global_align + get_mapper) and ptp_utils.py (get_time_words_attention_alpha), and the
// notebooks' get_equalizer: the token bookkeeping of Prompt-to-Prompt (Hertz et al. 2022, §3.2).

/// A word of a prompt, chosen by its text (every space-separated word equal to it) or by its
/// position among the space-separated words.
public enum PromptWord: Sendable, Hashable, CustomStringConvertible {
    case text(String)
    case position(Int)

    public var description: String {
        switch self {
        case .text(let w): return "'\(w)'"
        case .position(let i): return "word #\(i)"
        }
    }
}

/// Prompt-to-Prompt's token alignment between a source and a target prompt, on the model's
/// CLIP tokenizer (77 positions, BOS at 0).
public struct PromptAlignment {
    /// The sequence length every map has on its token axis.
    public static let tokenCount = CLIPTokenizer.maxLength
    public let tokenizer: CLIPTokenizer

    public init(tokenizer: CLIPTokenizer) { self.tokenizer = tokenizer }

    /// The prompt's words as P2P splits them: on single spaces (so punctuation sticks to its
    /// word and two spaces make an empty word).
    public static func words(_ text: String) -> [String] {
        text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    }

    /// The content tokens of `text` (no BOS/EOS/padding), decoded one by one as the reference
    /// does (`tokenizer.decode([id]).strip("#")`).
    func decodedPieces(_ text: String) -> [String] {
        let (ids, pieces) = tokenizer.tokenize(text)
        let end = ids.dropFirst().firstIndex(of: tokenizer.eosID) ?? ids.count
        return pieces[1..<end].map { piece in
            var s = Substring(piece)
            while s.first == "#" { s = s.dropFirst() }
            while s.last == "#" { s = s.dropLast() }
            return String(s)
        }
    }

    /// The token positions (BOS = 0) of `word` in `text` (`get_word_inds`): walks the decoded
    /// tokens, counting characters until each space-separated word is used up. Empty when the
    /// word does not occur (an exact match: "cat" is not found in "a cat, sitting").
    public func tokenIndices(of word: PromptWord, in text: String) -> [Int] {
        let words = Self.words(text)
        let places: Set<Int>
        switch word {
        case .text(let w): places = Set(words.indices.filter { words[$0] == w })
        case .position(let i): places = [i]
        }
        guard !places.isEmpty else { return [] }
        var result: [Int] = []
        var length = 0, pointer = 0
        for (k, piece) in decodedPieces(text).enumerated() {
            guard pointer < words.count else { break }
            length += piece.unicodeScalars.count
            if places.contains(pointer) { result.append(k + 1) }
            if length >= words[pointer].unicodeScalars.count {
                pointer += 1
                length = 0
            }
        }
        return result
    }

    /// The 77×77 word-swap matrix W of replace edits (`get_replacement_mapper_`): the edited
    /// map is M′[…, n] = Σ_w M[…, w]·W[w, n]. Both prompts must have the same number of
    /// space-separated words. A swapped word maps token to token when both sides have as many
    /// tokens, else each source token spreads 1/len(target) over every target token. Before the
    /// last swapped word the walk is diagonal on (i, j); after it the reference writes W[j, j]
    /// (not W[i, j]), which is off by the token-count difference when the swapped words differ
    /// in length. That quirk is kept (it is what published results used).
    public func replacementMatrix(source: String, target: String) throws -> Tensor {
        let ws = Self.words(source), wt = Self.words(target)
        guard ws.count == wt.count else {
            throw EditingError("p2p replace: the prompts must have the same number of words (source has \(ws.count), target has \(wt.count)); use mode: \"refine\" for added or removed words")
        }
        let changed = wt.indices.filter { wt[$0] != ws[$0] }
        let src = changed.map { tokenIndices(of: .position($0), in: source) }
        let tgt = changed.map { tokenIndices(of: .position($0), in: target) }
        for (k, w) in changed.enumerated() where src[k].isEmpty || tgt[k].isEmpty {
            throw EditingError("p2p replace: word #\(w) ('\(ws[w])' → '\(wt[w])') has no tokens within the 77-token limit")
        }
        let n = Self.tokenCount
        var m = [Float](repeating: 0, count: n * n)
        var i = 0, j = 0, c = 0
        while i < n && j < n {
            if c < src.count && src[c][0] == i {
                if src[c].count == tgt[c].count {
                    for (a, b) in zip(src[c], tgt[c]) { m[a * n + b] = 1 }
                } else {
                    let ratio = 1 / Float(tgt[c].count)
                    for a in src[c] { for b in tgt[c] where a < n && b < n { m[a * n + b] = ratio } }
                }
                i += src[c].count
                j += tgt[c].count
                c += 1
            } else if c < src.count {
                m[i * n + j] = 1
                i += 1
                j += 1
            } else {
                m[j * n + j] = 1
                i += 1
                j += 1
            }
        }
        return Tensor(shape: [n, n], scalars: m)
    }

    /// Refine edits (`get_mapper`): a global alignment (Needleman–Wunsch, gap 0, match +1,
    /// mismatch −1, ties to left, then up, then diagonal) of the token ids including BOS and
    /// EOS. `mapper[j]` is the source position of target token j (−1: a new token) and
    /// `alphas[j]` is 1 where it has one; positions after the target's EOS map to themselves.
    public func refinement(source: String, target: String) -> (mapper: [Int], alphas: [Float]) {
        let x = contentIDs(source), y = contentIDs(target)
        let (nx, ny) = (x.count, y.count)
        var score = [Int](repeating: 0, count: (nx + 1) * (ny + 1))
        var trace = [UInt8](repeating: 0, count: (nx + 1) * (ny + 1))
        let w = ny + 1
        for j in 1...ny { trace[j] = 1 }   // BOS and EOS make both sequences ≥ 2 long
        for i in 1...nx { trace[i * w] = 2 }
        trace[0] = 4
        for i in 1...nx {
            for j in 1...ny {
                let left = score[i * w + j - 1], up = score[(i - 1) * w + j]
                let diag = score[(i - 1) * w + j - 1] + (x[i - 1] == y[j - 1] ? 1 : -1)
                let best = max(left, up, diag)
                score[i * w + j] = best
                trace[i * w + j] = best == left ? 1 : (best == up ? 2 : 3)
            }
        }
        var pairs: [Int] = []   // source index per target token, from the end
        var i = nx, j = ny
        walk: while i > 0 || j > 0 {
            switch trace[i * w + j] {
            case 3: i -= 1; j -= 1; pairs.append(i)
            case 1: j -= 1; pairs.append(-1)
            case 2: i -= 1
            default: break walk
            }
        }
        pairs.reverse()
        let n = Self.tokenCount
        var mapper = pairs, alphas = pairs.map { $0 == -1 ? Float(0) : 1 }
        for k in pairs.count..<max(n, pairs.count) {
            mapper.append(ny + (k - pairs.count))
            alphas.append(1)
        }
        return (Array(mapper.prefix(n)), Array(alphas.prefix(n)))
    }

    /// BOS, the prompt's tokens, EOS (`tokenizer.encode(text)` without padding).
    func contentIDs(_ text: String) -> [Int] {
        let ids = tokenizer.encode(text)
        let end = ids.dropFirst().firstIndex(of: tokenizer.eosID) ?? (ids.count - 1)
        return Array(ids[0...end])
    }

    /// The reweighting vector (77 entries, 1 except at the tokens of the given words of
    /// `text`), the null-text notebook's `get_equalizer` (one value per word). A word that is
    /// not in `text` is an error.
    public func equalizer(text: String, weights: [(word: String, value: Float)]) throws -> [Float] {
        var e = [Float](repeating: 1, count: Self.tokenCount)
        for (word, value) in weights {
            guard value.isFinite else { throw EditingError("p2p weights: the weight of '\(word)' is not finite") }
            let inds = tokenIndices(of: .text(word), in: text)
            guard !inds.isEmpty else {
                throw EditingError("p2p weights: '\(word)' is not a word of the target prompt \"\(text)\" (words: \(Self.words(text).joined(separator: ", ")))")
            }
            for k in inds { e[k] = value }
        }
        return e
    }

    /// The cross-attention replacement window α[step][token] with `steps + 1` rows
    /// (`get_time_words_attention_alpha`): 1 for steps in [⌊lo·(N+1)⌋, ⌊hi·(N+1)⌋), else 0;
    /// `words` override the default bounds at the tokens of those words of `target` (words not
    /// in the target are ignored, as in the reference).
    public func crossReplaceWindow(target: String, steps: Int, default bounds: (Double, Double),
                                   words: [(word: String, bounds: (Double, Double))] = []) -> [[Float]] {
        let n = Self.tokenCount
        var alpha = [[Float]](repeating: [Float](repeating: 0, count: n), count: steps + 1)
        func update(_ b: (Double, Double), _ tokens: [Int]) {
            let start = Int(b.0 * Double(steps + 1)), end = Int(b.1 * Double(steps + 1))
            for s in 0...steps { for k in tokens { alpha[s][k] = (s >= start && s < end) ? 1 : 0 } }
        }
        update(bounds, Array(0..<n))
        for (word, b) in words {
            let inds = tokenIndices(of: .text(word), in: target)
            if !inds.isEmpty { update(b, inds) }
        }
        return alpha
    }
}
