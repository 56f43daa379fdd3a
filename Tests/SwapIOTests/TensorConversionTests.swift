import Foundation
import SwapTensor
import Testing
@testable import SwapIO

@Test func imageToTensorIsNCHWInBothRanges() throws {
    // 2×1 RGB image: pixel 0 = (0, 0.5, 1), pixel 1 = (1, 0.25, 0).
    let image = try Image(width: 2, height: 1, channels: 3, pixels: [0, 0.5, 1, 1, 0.25, 0])
    let unit = image.tensor(range: .zeroToOne)
    #expect(unit.shape == [1, 3, 1, 2])
    #expect(unit.scalars == [0, 1, 0.5, 0.25, 1, 0])
    let signed = image.tensor()
    #expect(signed.scalars == [-1, 1, 0, -0.5, 1, -1])
}

@Test func tensorToImageFollowsDiffusersPostprocess() throws {
    // [C=1, H=1, W=8]; x / 2 + 0.5, clamp, round(x * 255), NaN -> 0.
    let values: [Float] = [-1, 1, 0, 3, -7, .nan, 0.001, -0.5]
    let image = try Image(tensor: Tensor(shape: [1, 1, 8], scalars: values))
    let bytes = image.pixels.map { Int(($0 * 255).rounded()) }
    let expected = values.map { v -> Int in
        guard !v.isNaN else { return 0 }
        return Int((min(max(v / 2 + 0.5, 0), 1) * 255).rounded())
    }
    #expect(bytes == expected)
    #expect(bytes == [0, 255, 128, 255, 0, 0, 128, 64])
    // Pixels lie exactly on the 8-bit grid, so saving and reloading changes nothing.
    #expect(try Image(pngData: image.pngData()).pixels == image.rgb.pixels)
}

@Test func tensorRoundTripInBothRanges() throws {
    var pixels: [Float] = []
    for i in 0..<(4 * 3 * 4) { pixels.append(Float((i * 37) % 256) / 255) }
    let image = try Image(width: 4, height: 3, channels: 4, pixels: pixels)
    for range in [TensorRange.zeroToOne, .minusOneToOne] {
        let back = try Image(tensor: image.tensor(range: range), range: range)
        let maxError = zip(back.pixels, image.pixels).map { abs($0 - $1) }.max() ?? 1
        #expect(maxError < 1e-6)
    }
}

@Test func badTensorShapesThrow() {
    #expect(throws: ImageError.self) { try Image(tensor: Tensor(zeros: [2, 3, 4, 4])) }
    #expect(throws: ImageError.self) { try Image(tensor: Tensor(zeros: [1, 5, 4, 4])) }
    #expect(throws: ImageError.self) { try Image(tensor: Tensor(zeros: [4, 4])) }
    #expect(throws: ImageError.self) { try Image(tensor: Tensor(zeros: [1, 3, 0, 4])) }
}

@Test func batchSplitsIntoImages() throws {
    var scalars = [Float](repeating: -1, count: 2 * 3 * 2 * 2)
    for i in 12..<24 { scalars[i] = 1 }
    let images = try Image.images(fromBatch: Tensor(shape: [2, 3, 2, 2], scalars: scalars))
    #expect(images.count == 2)
    #expect(images[0].pixels.allSatisfy { $0 == 0 })
    #expect(images[1].pixels.allSatisfy { $0 == 1 })
}
