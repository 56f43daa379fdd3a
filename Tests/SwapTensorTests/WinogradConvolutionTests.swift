import Testing
@testable import SwapTensor

/// The Winograd paths of conv2d, F(4x4, 3x3) for Stable Diffusion's wide 3x3 layers at 64x64
/// and F(2x2, 3x3) at 32x32, against im2col, which OpReferenceTests checks against torch:
/// relative error ≤ 1e-5 of the output's scale, with and without bias, at SD 1.5's 64x64 and
/// 32x32 shapes, with channel counts that are not multiples of 8, and at sizes that are not
/// square (F(4x4) wants H % 4 == 0 and W % 32 == 0, else F(2x2) serves);
/// bit-identical for 1 and 2 threads. (The backward pass is im2col's for every geometry.)
@Suite(.serialized) struct WinogradConvolutionTests {
    @Test(arguments: [(2, 320, 320, 64, 64, true, 4), (1, 130, 136, 68, 96, false, 4), (1, 640, 1280, 32, 32, false, 2),
                      (1, 130, 136, 36, 36, true, 2), (1, 128, 128, 64, 80, true, 2)])
    func winogradMatchesIm2col(_ shape: (Int, Int, Int, Int, Int, Bool, Int)) throws {
        let (batch, inputs, outputs, height, width, withBias, tile) = shape
        var generator = PhiloxGenerator(seed: UInt64(inputs + height))
        let x = generator.randn([batch, inputs, height, width])
        let weight = generator.randn([outputs, inputs, 3, 3]) * (1 / Float(3 * inputs).squareRoot())
        let bias = withBias ? generator.randn([outputs]) : nil
        let geometry = ConvGeometry(channels: inputs, height: height, width: width, kernelH: 3, kernelW: 3,
                                    strideH: 1, strideW: 1, padH: 1, padW: 1)
        #expect(Tensor.winogradTile(geometry, outChannels: outputs) == tile)
        let fast = try x.conv2d(weight: weight, bias: bias, stride: 1, padding: 1)
        let reference = try x.conv2d(weight: weight, bias: bias, stride: (1, 1), padding: (1, 1), allowWinograd: false)
        let scale = reference.scalars.map(abs).max()!
        let error = zip(fast.scalars, reference.scalars).map { abs($0 - $1) }.max()! / scale
        print("winograd F(\(tile)x\(tile)) conv \(inputs)→\(outputs) on \(batch)x\(height)x\(width): max error \(error) of scale \(scale)")
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
        #expect(nil == Tensor.winogradTile(geometry(320, 33), outChannels: 320))
        #expect(nil == Tensor.winogradTile(geometry(64, 64), outChannels: 64))     // the default model's widest
        #expect(nil == Tensor.winogradTile(geometry(1280, 16), outChannels: 1280))
    }
}
