import Testing
@testable import SwapTensor

/// The Winograd F(2x2, 3x3) path of conv2d (Stable Diffusion's wide 3x3 layers at 32x32 and
/// larger) against im2col, which OpReferenceTests checks against torch: relative error
/// ≤ 1e-5 of the output's scale, with and without bias, at SD 1.5's 64x64 and 32x32 shapes and
/// with channel counts that are not multiples of 8;
/// bit-identical for 1 and 2 threads. (The backward pass is im2col's for every geometry.)
@Suite(.serialized) struct WinogradConvolutionTests {
    @Test(arguments: [(2, 320, 320, 64, true), (1, 640, 1280, 32, false), (1, 130, 136, 36, true)])
    func winogradMatchesIm2col(_ shape: (Int, Int, Int, Int, Bool)) throws {
        let (batch, inputs, outputs, side, withBias) = shape
        var generator = PhiloxGenerator(seed: UInt64(inputs + side))
        let x = generator.randn([batch, inputs, side, side])
        let weight = generator.randn([outputs, inputs, 3, 3]) * (1 / Float(3 * inputs).squareRoot())
        let bias = withBias ? generator.randn([outputs]) : nil
        let geometry = ConvGeometry(channels: inputs, height: side, width: side, kernelH: 3, kernelW: 3,
                                    strideH: 1, strideW: 1, padH: 1, padW: 1)
        #expect(Tensor.usesWinograd(geometry, outChannels: outputs))
        let fast = try x.conv2d(weight: weight, bias: bias, stride: 1, padding: 1)
        let reference = try x.conv2d(weight: weight, bias: bias, stride: (1, 1), padding: (1, 1), allowWinograd: false)
        let scale = reference.scalars.map(abs).max()!
        let error = zip(fast.scalars, reference.scalars).map { abs($0 - $1) }.max()! / scale
        print("winograd conv \(inputs)→\(outputs) on \(batch)x\(side)x\(side): max error \(error) of scale \(scale)")
        #expect(error <= 1e-5)

        let threads = Parallel.threadCount
        defer { Parallel.threadCount = threads }
        Parallel.threadCount = 1
        let one = try x.conv2d(weight: weight, bias: bias, stride: 1, padding: 1)
        Parallel.threadCount = 2
        let two = try x.conv2d(weight: weight, bias: bias, stride: 1, padding: 1)
        #expect(one.scalars.map(\.bitPattern) == two.scalars.map(\.bitPattern))
    }

    @Test func oddSizesAndNarrowLayersKeepIm2col() {
        func geometry(_ channels: Int, _ side: Int) -> ConvGeometry {
            ConvGeometry(channels: channels, height: side, width: side, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1)
        }
        #expect(!Tensor.usesWinograd(geometry(320, 33), outChannels: 320))
        #expect(!Tensor.usesWinograd(geometry(64, 64), outChannels: 64))     // the default model's widest
        #expect(!Tensor.usesWinograd(geometry(1280, 16), outChannels: 1280))
    }
}
