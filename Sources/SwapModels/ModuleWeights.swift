import SwapTensor

// The weight of every Linear and Conv2d of the UNet and the CLIP text encoder under its PyTorch
// module name (diffusers `UNet2DConditionModel.named_modules()`, transformers
// `CLIPTextModel.named_modules()` with the `text_model.` prefix the checkpoints use), so weight
// updates such as LoRA can address any layer by the name a file gives it.

/// Visits a weight under its module name; may replace it (same shape).
public typealias ModuleWeightVisitor = (_ module: String, _ weight: inout Tensor) throws -> Void

extension Linear {
    mutating func visitWeight(_ name: String, _ body: ModuleWeightVisitor) throws { try body(name, &weight) }
}

extension Conv2d {
    mutating func visitWeight(_ name: String, _ body: ModuleWeightVisitor) throws { try body(name, &weight) }
}

extension Optional where Wrapped == Linear {
    mutating func visitWeight(_ name: String, _ body: ModuleWeightVisitor) throws {
        guard var layer = self else { return }
        try layer.visitWeight(name, body)
        self = layer
    }
}

extension Optional where Wrapped == Conv2d {
    mutating func visitWeight(_ name: String, _ body: ModuleWeightVisitor) throws {
        guard var layer = self else { return }
        try layer.visitWeight(name, body)
        self = layer
    }
}

extension ResnetBlock2D {
    mutating func visitWeights(_ p: String, _ body: ModuleWeightVisitor) throws {
        try conv1.visitWeight(p + ".conv1", body)
        try timeEmbProj.visitWeight(p + ".time_emb_proj", body)
        try conv2.visitWeight(p + ".conv2", body)
        try convShortcut.visitWeight(p + ".conv_shortcut", body)
    }
}

extension AttentionLayer {
    mutating func visitWeights(_ p: String, _ body: ModuleWeightVisitor) throws {
        try toQ.visitWeight(p + ".to_q", body)
        try toK.visitWeight(p + ".to_k", body)
        try toV.visitWeight(p + ".to_v", body)
        try toOut.visitWeight(p + ".to_out.0", body)
    }
}

extension Transformer2DModel {
    mutating func visitWeights(_ p: String, _ body: ModuleWeightVisitor) throws {
        try projInConv.visitWeight(p + ".proj_in", body)
        try projInLinear.visitWeight(p + ".proj_in", body)
        for k in blocks.indices {
            let b = "\(p).transformer_blocks.\(k)"
            try blocks[k].attn1.visitWeights(b + ".attn1", body)
            try blocks[k].attn2.visitWeights(b + ".attn2", body)
            try blocks[k].ff.proj.visitWeight(b + ".ff.net.0.proj", body)
            try blocks[k].ff.out.visitWeight(b + ".ff.net.2", body)
        }
        try projOutConv.visitWeight(p + ".proj_out", body)
        try projOutLinear.visitWeight(p + ".proj_out", body)
    }
}

extension UNet2DConditionModel {
    /// Visits the weight of every Linear and Conv2d in forward order under its diffusers module
    /// name ("down_blocks.0.resnets.0.conv1", "mid_block.attentions.0.proj_in", …); `body`
    /// may replace it with a tensor of the same shape.
    public mutating func updateModuleWeights(_ body: ModuleWeightVisitor) throws {
        try timeEmbedding.linear1.visitWeight("time_embedding.linear_1", body)
        try timeEmbedding.linear2.visitWeight("time_embedding.linear_2", body)
        try convIn.visitWeight("conv_in", body)
        for i in downBlocks.indices {
            let p = "down_blocks.\(i)"
            for j in downBlocks[i].resnets.indices {
                try downBlocks[i].resnets[j].visitWeights("\(p).resnets.\(j)", body)
                if j < downBlocks[i].attentions.count { try downBlocks[i].attentions[j].visitWeights("\(p).attentions.\(j)", body) }
            }
            if var d = downBlocks[i].downsampler {
                try d.conv.visitWeight("\(p).downsamplers.0.conv", body)
                downBlocks[i].downsampler = d
            }
        }
        try midBlock.resnet0.visitWeights("mid_block.resnets.0", body)
        try midBlock.attention.visitWeights("mid_block.attentions.0", body)
        try midBlock.resnet1.visitWeights("mid_block.resnets.1", body)
        for i in upBlocks.indices {
            let p = "up_blocks.\(i)"
            for j in upBlocks[i].resnets.indices {
                try upBlocks[i].resnets[j].visitWeights("\(p).resnets.\(j)", body)
                if j < upBlocks[i].attentions.count { try upBlocks[i].attentions[j].visitWeights("\(p).attentions.\(j)", body) }
            }
            if var u = upBlocks[i].upsampler {
                try u.conv.visitWeight("\(p).upsamplers.0.conv", body)
                upBlocks[i].upsampler = u
            }
        }
        try convOut.visitWeight("conv_out", body)
    }
}

extension CLIPTextModel {
    /// Visits the weight of every Linear under its transformers module name
    /// ("text_model.encoder.layers.0.self_attn.q_proj", "….mlp.fc1"); `body` may replace it
    /// with a tensor of the same shape.
    public mutating func updateModuleWeights(_ body: ModuleWeightVisitor) throws {
        for i in layers.indices {
            let p = "text_model.encoder.layers.\(i)"
            try layers[i].qProj.visitWeight(p + ".self_attn.q_proj", body)
            try layers[i].kProj.visitWeight(p + ".self_attn.k_proj", body)
            try layers[i].vProj.visitWeight(p + ".self_attn.v_proj", body)
            try layers[i].outProj.visitWeight(p + ".self_attn.out_proj", body)
            try layers[i].fc1.visitWeight(p + ".mlp.fc1", body)
            try layers[i].fc2.visitWeight(p + ".mlp.fc2", body)
        }
    }
}
