// swift-tools-version:6.0
import PackageDescription

// Release builds of the numerical modules use -Ounchecked and an AVX2/FMA/F16C target
// (x86-64-v3), which every machine this project runs on has.
// The engine modules use Swift 5 language mode: their kernels hand raw buffers to the worker
// threads of Parallel.forEach, which strict Sendable checking cannot express.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo", "-Xcc", "-march=x86-64-v3"], .when(configuration: .release)),
    .swiftLanguageMode(.v5),
]

let package = Package(
    name: "SwapScript",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swapscript", targets: ["swapscript"]),
        .library(name: "SwapTensor", targets: ["SwapTensor"]),
        .library(name: "SwapIO", targets: ["SwapIO"]),
        .library(name: "SwapLang", targets: ["SwapLang"]),
        .library(name: "SwapRuntime", targets: ["SwapRuntime"]),
        .library(name: "SwapPipeline", targets: ["SwapPipeline"]),
        .library(name: "SwapREPL", targets: ["SwapREPL"]),
        .library(name: "SwapEditing", targets: ["SwapEditing"]),
        .library(name: "SwapWorld", targets: ["SwapWorld"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: System libraries and C shims
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .target(name: "CPNGShim", dependencies: ["CLibPNG"]),
        .systemLibrary(name: "CReadline", pkgConfig: "readline",
                       providers: [.apt(["libreadline-dev"])]),

        // MARK: Engine
        .target(name: "CAttentionKernel", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "SwapTensor", dependencies: ["CBLAS", "CAttentionKernel"], swiftSettings: fastMath),
        .target(name: "SwapIO", dependencies: ["SwapTensor", "CPNGShim"], swiftSettings: fastMath),

        .target(name: "SwapModels", dependencies: ["SwapTensor", "SwapIO"],
                resources: [.copy("Resources")], swiftSettings: fastMath),
        .target(name: "SwapSchedulers", dependencies: ["SwapTensor"], swiftSettings: fastMath),
        .target(name: "SwapPipeline", dependencies: ["SwapModels", "SwapSchedulers", "SwapTensor"], swiftSettings: fastMath),

        // MARK: Editing (processes, attention capture and controllers, edit operators)
        .target(name: "SwapEditing", dependencies: ["SwapPipeline", "SwapModels", "SwapSchedulers", "SwapTensor", "SwapIO"],
                swiftSettings: fastMath),

        // MARK: ShapesWorld (scene generator, recognizer, training of the default model)
        .target(name: "SwapWorld", dependencies: ["SwapEditing", "SwapPipeline", "SwapModels", "SwapSchedulers", "SwapTensor", "SwapIO"],
                resources: [.copy("Resources")], swiftSettings: fastMath),

        // MARK: Language (Foundation only)
        .target(name: "SwapLang"),

        // MARK: Runtime (the session and its builtins)
        .target(name: "SwapRuntime", dependencies: ["SwapLang", "SwapTensor", "SwapIO", "SwapModels", "SwapSchedulers", "SwapPipeline", "SwapEditing", "SwapWorld"],
                swiftSettings: fastMath),

        // MARK: REPL (line reading, completion, meta commands, export, terminal images)
        .target(name: "SwapREPL", dependencies: ["SwapRuntime", "SwapLang", "SwapIO", "CReadline"]),

        // MARK: Front end
        .executableTarget(name: "swapscript", dependencies: [
            "SwapTensor", "SwapIO", "SwapLang", "SwapRuntime", "SwapModels", "SwapREPL", "SwapEditing", "SwapWorld", "CReadline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fastMath),

        // MARK: Tests
        .testTarget(name: "SwapTensorTests", dependencies: ["SwapTensor", "SwapIO"],
                     resources: [.copy("Fixtures")]),
        .testTarget(name: "SwapIOTests", dependencies: ["SwapIO", "SwapTensor"],
                     resources: [.copy("Fixtures")]),
        .testTarget(name: "SwapModelsTests", dependencies: ["SwapModels", "SwapTensor", "SwapIO"],
                    resources: [.copy("Fixtures")], swiftSettings: fastMath),
        .testTarget(name: "SwapSchedulersTests", dependencies: ["SwapSchedulers", "SwapTensor", "SwapIO"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SwapPipelineTests", dependencies: ["SwapPipeline", "SwapModels", "SwapSchedulers", "SwapTensor", "SwapIO"],
                    resources: [.copy("Fixtures")], swiftSettings: fastMath),
        .testTarget(name: "SwapEditingTests", dependencies: ["SwapEditing", "SwapPipeline", "SwapModels", "SwapSchedulers", "SwapTensor", "SwapIO"],
                    resources: [.copy("Fixtures")], swiftSettings: fastMath),
        .testTarget(name: "SwapWorldTests", dependencies: ["SwapWorld", "SwapEditing", "SwapModels", "SwapTensor", "SwapIO"],
                    exclude: ["Fixtures"], swiftSettings: fastMath),
        .testTarget(name: "SwapLangTests", dependencies: ["SwapLang"], resources: [.copy("Scripts")]),
        .testTarget(name: "SwapRuntimeTests", dependencies: ["SwapRuntime", "SwapLang", "SwapTensor", "SwapIO", "SwapModels"],
                    exclude: ["Scripts"]),
        // Depends on the executable so `swift test` builds `swapscript`, which the
        // pseudo-terminal tests drive.
        .testTarget(name: "SwapREPLTests", dependencies: ["SwapREPL", "SwapRuntime", "SwapLang", "SwapIO", "swapscript"]),
    ]
)
