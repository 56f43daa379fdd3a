public enum SwapLangVersion { public static let string = "0.1" }
