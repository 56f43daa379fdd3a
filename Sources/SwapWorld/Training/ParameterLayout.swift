import SwapModels
import SwapTensor

/// How a parameter is initialised (PyTorch's module defaults).
public enum ParameterInit: Sendable, Equatable {
    /// `nn.Linear` / `nn.Conv2d` weight and bias: U(−1/√fan_in, 1/√fan_in), which is what
    /// `kaiming_uniform_(a=√5)` gives for the weight and `reset_parameters` for the bias.
    case uniformFanIn(Int)
    /// N(0, std²): embeddings (CLIP's `_init_weights` uses 0.02 for tokens, 0.01 for positions).
    case normal(Float)
    /// Norm weights.
    case ones
    /// Norm biases, and the zero-initialised UNet `conv_out`.
    case zeros
}

/// One parameter of a model: its diffusers/transformers name, shape and initialisation.
public struct ParameterSpec: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var initialization: ParameterInit
}

/// The parameter names and shapes of the SD-architecture models for a configuration, exactly as
/// `UNet2DConditionModel`, `AutoencoderKL` and `CLIPTextModel` request them from a `WeightStore`
/// (the tests build each model from these and check every tensor is used).
public enum ParameterLayout {
    /// Collects specs under a prefix.
    struct Builder {
        var specs: [ParameterSpec] = []

        mutating func linear(_ p: String, _ inF: Int, _ outF: Int, bias: Bool = true) {
            specs.append(ParameterSpec(name: p + ".weight", shape: [outF, inF], initialization: .uniformFanIn(inF)))
            if bias { specs.append(ParameterSpec(name: p + ".bias", shape: [outF], initialization: .uniformFanIn(inF))) }
        }

        mutating func conv(_ p: String, _ inC: Int, _ outC: Int, kernel: Int, zero: Bool = false) {
            let fanIn = inC * kernel * kernel
            specs.append(ParameterSpec(name: p + ".weight", shape: [outC, inC, kernel, kernel],
                                       initialization: zero ? .zeros : .uniformFanIn(fanIn)))
            specs.append(ParameterSpec(name: p + ".bias", shape: [outC], initialization: zero ? .zeros : .uniformFanIn(fanIn)))
        }

        mutating func norm(_ p: String, _ c: Int) {
            specs.append(ParameterSpec(name: p + ".weight", shape: [c], initialization: .ones))
            specs.append(ParameterSpec(name: p + ".bias", shape: [c], initialization: .zeros))
        }

        mutating func resnet(_ p: String, _ inC: Int, _ outC: Int, time: Int?) {
            norm(p + ".norm1", inC)
            conv(p + ".conv1", inC, outC, kernel: 3)
            if let time { linear(p + ".time_emb_proj", time, outC) }
            norm(p + ".norm2", outC)
            conv(p + ".conv2", outC, outC, kernel: 3)
            if inC != outC { conv(p + ".conv_shortcut", inC, outC, kernel: 1) }
        }

        mutating func transformer(_ p: String, _ c: Int, context: Int, depth: Int, linearProjection: Bool) {
            norm(p + ".norm", c)
            if linearProjection { linear(p + ".proj_in", c, c) } else { conv(p + ".proj_in", c, c, kernel: 1) }
            for k in 0..<depth {
                let b = p + ".transformer_blocks.\(k)"
                norm(b + ".norm1", c)
                linear(b + ".attn1.to_q", c, c, bias: false)
                linear(b + ".attn1.to_k", c, c, bias: false)
                linear(b + ".attn1.to_v", c, c, bias: false)
                linear(b + ".attn1.to_out.0", c, c)
                norm(b + ".norm2", c)
                linear(b + ".attn2.to_q", c, c, bias: false)
                linear(b + ".attn2.to_k", context, c, bias: false)
                linear(b + ".attn2.to_v", context, c, bias: false)
                linear(b + ".attn2.to_out.0", c, c)
                norm(b + ".norm3", c)
                linear(b + ".ff.net.0.proj", c, 8 * c)
                linear(b + ".ff.net.2", 4 * c, c)
            }
            if linearProjection { linear(p + ".proj_out", c, c) } else { conv(p + ".proj_out", c, c, kernel: 1) }
        }

        mutating func vaeMid(_ p: String, _ c: Int, attention: Bool) {
            resnet(p + ".resnets.0", c, c, time: nil)
            if attention {
                norm(p + ".attentions.0.group_norm", c)
                for name in ["to_q", "to_k", "to_v", "to_out.0"] { linear(p + ".attentions.0." + name, c, c) }
            }
            resnet(p + ".resnets.1", c, c, time: nil)
        }
    }

    /// `UNet2DConditionModel` (diffusers names), with `conv_out` zero-initialised so the first
    /// prediction is 0 (a common choice that keeps early training stable).
    public static func unet(_ c: UNetConfig) -> [ParameterSpec] {
        var b = Builder()
        let ch = c.blockOutChannels, n = ch.count, t = c.timeEmbeddingDim
        b.linear("time_embedding.linear_1", ch[0], t)
        b.linear("time_embedding.linear_2", t, t)
        b.conv("conv_in", c.inChannels, ch[0], kernel: 3)
        for i in 0..<n {
            for j in 0..<c.layersPerBlock[i] {
                b.resnet("down_blocks.\(i).resnets.\(j)", j == 0 ? (i == 0 ? ch[0] : ch[i - 1]) : ch[i], ch[i], time: t)
                if c.downBlockTypes[i] == "CrossAttnDownBlock2D" {
                    b.transformer("down_blocks.\(i).attentions.\(j)", ch[i], context: c.crossAttentionDim[i],
                                  depth: c.transformerLayersPerBlock[i], linearProjection: c.useLinearProjection)
                }
            }
            if i < n - 1 { b.conv("down_blocks.\(i).downsamplers.0.conv", ch[i], ch[i], kernel: 3) }
        }
        b.resnet("mid_block.resnets.0", ch[n - 1], ch[n - 1], time: t)
        b.transformer("mid_block.attentions.0", ch[n - 1], context: c.crossAttentionDim[n - 1],
                      depth: c.transformerLayersPerBlock[n - 1], linearProjection: c.useLinearProjection)
        b.resnet("mid_block.resnets.1", ch[n - 1], ch[n - 1], time: t)
        let reversed = Array(ch.reversed())
        for i in 0..<n {
            let out = reversed[i], prev = reversed[max(i - 1, 0)], input = reversed[min(i + 1, n - 1)]
            let r = n - 1 - i, layers = c.layersPerBlock[r] + 1
            for j in 0..<layers {
                let skip = j == layers - 1 ? input : out
                b.resnet("up_blocks.\(i).resnets.\(j)", (j == 0 ? prev : out) + skip, out, time: t)
                if c.upBlockTypes[i] == "CrossAttnUpBlock2D" {
                    b.transformer("up_blocks.\(i).attentions.\(j)", out, context: c.crossAttentionDim[r],
                                  depth: c.transformerLayersPerBlock[r], linearProjection: c.useLinearProjection)
                }
            }
            if i < n - 1 { b.conv("up_blocks.\(i).upsamplers.0.conv", out, out, kernel: 3) }
        }
        b.norm("conv_norm_out", ch[0])
        b.conv("conv_out", ch[0], c.outChannels, kernel: 3, zero: true)
        return b.specs
    }

    /// `AutoencoderKL` (diffusers names).
    public static func vae(_ c: VAEConfig) -> [ParameterSpec] {
        var b = Builder()
        let ch = c.blockOutChannels, n = ch.count, z = c.latentChannels
        b.conv("encoder.conv_in", c.inChannels, ch[0], kernel: 3)
        for i in 0..<n {
            for j in 0..<c.layersPerBlock {
                b.resnet("encoder.down_blocks.\(i).resnets.\(j)", j == 0 ? ch[max(i - 1, 0)] : ch[i], ch[i], time: nil)
            }
            if i < n - 1 { b.conv("encoder.down_blocks.\(i).downsamplers.0.conv", ch[i], ch[i], kernel: 3) }
        }
        b.vaeMid("encoder.mid_block", ch[n - 1], attention: c.midBlockAddAttention)
        b.norm("encoder.conv_norm_out", ch[n - 1])
        b.conv("encoder.conv_out", ch[n - 1], 2 * z, kernel: 3)
        b.conv("quant_conv", 2 * z, 2 * z, kernel: 1)
        b.conv("post_quant_conv", z, z, kernel: 1)
        let reversed = Array(ch.reversed())
        b.conv("decoder.conv_in", z, reversed[0], kernel: 3)
        b.vaeMid("decoder.mid_block", reversed[0], attention: c.midBlockAddAttention)
        for i in 0..<n {
            for j in 0...c.layersPerBlock {
                b.resnet("decoder.up_blocks.\(i).resnets.\(j)", j == 0 ? reversed[max(i - 1, 0)] : reversed[i], reversed[i], time: nil)
            }
            if i < n - 1 { b.conv("decoder.up_blocks.\(i).upsamplers.0.conv", reversed[i], reversed[i], kernel: 3) }
        }
        b.norm("decoder.conv_norm_out", ch[0])
        b.conv("decoder.conv_out", ch[0], c.outChannels, kernel: 3)
        return b.specs
    }

    /// `CLIPTextModel` (transformers names, diffusers `text_encoder/model.safetensors`).
    public static func textEncoder(_ c: CLIPTextConfig) -> [ParameterSpec] {
        var b = Builder()
        let d = c.hiddenSize
        b.specs.append(ParameterSpec(name: "text_model.embeddings.token_embedding.weight", shape: [c.vocabSize, d],
                                     initialization: .normal(0.02)))
        b.specs.append(ParameterSpec(name: "text_model.embeddings.position_embedding.weight",
                                     shape: [c.maxPositionEmbeddings, d], initialization: .normal(0.01)))
        for i in 0..<c.numHiddenLayers {
            let p = "text_model.encoder.layers.\(i)."
            b.norm(p + "layer_norm1", d)
            for name in ["q_proj", "k_proj", "v_proj", "out_proj"] { b.linear(p + "self_attn." + name, d, d) }
            b.norm(p + "layer_norm2", d)
            b.linear(p + "mlp.fc1", d, c.intermediateSize)
            b.linear(p + "mlp.fc2", c.intermediateSize, d)
        }
        b.norm("text_model.final_layer_norm", d)
        return b.specs
    }

    /// Fresh parameters for `specs`: parameter i draws from the Philox stream (seed, i), so the
    /// values depend only on the seed and the layout.
    public static func initialize(_ specs: [ParameterSpec], seed: UInt64) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (i, spec) in specs.enumerated() {
            var generator = PhiloxGenerator(seed: seed, stream: UInt64(i))
            switch spec.initialization {
            case .ones: result[spec.name] = Tensor(shape: spec.shape, repeating: 1)
            case .zeros: result[spec.name] = Tensor(zeros: spec.shape)
            case .normal(let std): result[spec.name] = generator.randn(spec.shape) * std
            case .uniformFanIn(let fanIn):
                let bound = 1 / Float(fanIn).squareRoot()
                result[spec.name] = generator.rand(spec.shape) * (2 * bound) - bound
            }
        }
        return result
    }

    /// The number of scalars in `specs`.
    public static func scalarCount(_ specs: [ParameterSpec]) -> Int {
        specs.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}
