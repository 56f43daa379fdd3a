import SwapTensor

// matches: transformers models/clip/modeling_clip.py CLIPEncoderLayer (shared by the text and
// vision towers; the text tower passes its causal mask, the vision tower none)

/// One pre-norm transformer block: x += out_proj(MHA(ln1(x))); x += fc2(act(fc1(ln2(x)))).
struct CLIPEncoderLayer: Sendable {
    var layerNorm1: LayerNorm
    var qProj: Linear
    var kProj: Linear
    var vProj: Linear
    var outProj: Linear
    var layerNorm2: LayerNorm
    var fc1: Linear
    var fc2: Linear

    /// Loads the block under `prefix` (e.g. "text_model.encoder.layers.0.") through the given
    /// loaders, which take a module name and its feature sizes and shape-check the tensors.
    init(prefix p: String, hiddenSize d: Int, intermediateSize: Int, eps: Float,
         linear: (_ name: String, _ inFeatures: Int, _ outFeatures: Int) throws -> Linear,
         layerNorm: (_ name: String, _ dimension: Int, _ eps: Float) throws -> LayerNorm) throws {
        layerNorm1 = try layerNorm(p + "layer_norm1", d, eps)
        qProj = try linear(p + "self_attn.q_proj", d, d)
        kProj = try linear(p + "self_attn.k_proj", d, d)
        vProj = try linear(p + "self_attn.v_proj", d, d)
        outProj = try linear(p + "self_attn.out_proj", d, d)
        layerNorm2 = try layerNorm(p + "layer_norm2", d, eps)
        fc1 = try linear(p + "mlp.fc1", d, intermediateSize)
        fc2 = try linear(p + "mlp.fc2", intermediateSize, d)
    }

    /// x [B, L, d]; `mask` [L, L], when given, is added to the scores (0 or the float minimum).
    func callAsFunction(_ x: Tensor, mask: Tensor?, heads: Int, activation: CLIPTextConfig.Activation) throws -> Tensor {
        let (b, l, d) = (x.shape[0], x.shape[1], x.shape[2])
        let hd = d / heads
        func splitHeads(_ t: Tensor) throws -> Tensor {
            try t.reshaped([b, l, heads, hd]).permuted([0, 2, 1, 3]).reshaped([b * heads, l, hd])
        }
        let h = try layerNorm1(x)
        let q = try splitHeads(qProj(h)), k = try splitHeads(kProj(h)), v = try splitHeads(vProj(h))
        let scale = 1 / Float(hd).squareRoot()
        var scores = try q.matmul(k.transposedLastTwo()) * scale
        if let mask { scores = try scores + mask }
        let attended = try scores.softmax().matmul(v)
        let merged = try attended.reshaped([b, heads, l, hd]).permuted([0, 2, 1, 3]).reshaped([b, l, d])
        let afterAttention = try x + outProj(merged)
        let hidden = try fc1(layerNorm2(afterAttention))
        let activated = activation == .gelu ? hidden.gelu() : hidden.quickGELU()
        return try afterAttention + fc2(activated)
    }
}
