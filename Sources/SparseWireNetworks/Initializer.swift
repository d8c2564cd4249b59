import Foundation
import SparseWireTensor
import SparseWireAutograd

/// Weight initialisers, with PyTorch's fan conventions.
public enum Initializer: Equatable, Sendable {
    /// Which fan (fan_in or fan_out) the kaiming and constant forms scale by (PyTorch's `mode`).
    public enum FanMode: String, Sendable { case fanIn = "fan_in", fanOut = "fan_out" }

    /// N(0, (gain/√fan)²), gain = √2 for ReLU.
    case kaimingNormal(mode: FanMode = .fanIn, gain: Float = Float(2).squareRoot())
    /// U(−b, b), b = gain·√(3/fan).
    case kaimingUniform(mode: FanMode = .fanIn, gain: Float = Float(2).squareRoot())
    /// N(0, 2/(fan_in+fan_out)) · gain²
    case xavierNormal(gain: Float = 1)
    /// U(−b, b), b = gain·√(6/(fan_in+fan_out))
    case xavierUniform(gain: Float = 1)
    /// ±gain/√fan with a random sign (edge-popup's signed constant).
    case signedConstant(mode: FanMode = .fanIn, gain: Float = Float(2).squareRoot())
    /// +gain/√fan everywhere.
    case unsignedConstant(mode: FanMode = .fanIn, gain: Float = Float(2).squareRoot())
    /// Every element equal to the value (`zeros`, `ones`).
    case constant(Float)

    /// The config names `named(_:mode:)` accepts.
    public static let names = ["kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform",
                               "signed_constant", "unsigned_constant", "zeros", "ones"]

    /// Parses a config name such as "kaiming_normal"; `mode` applies to the kaiming and constant forms.
    public static func named(_ name: String, mode: FanMode = .fanIn) throws -> Initializer {
        switch name {
        case "kaiming_normal": return .kaimingNormal(mode: mode)
        case "kaiming_uniform": return .kaimingUniform(mode: mode)
        case "xavier_normal": return .xavierNormal()
        case "xavier_uniform": return .xavierUniform()
        case "signed_constant": return .signedConstant(mode: mode)
        case "unsigned_constant": return .unsignedConstant(mode: mode)
        case "zeros": return .constant(0)
        case "ones": return .constant(1)
        default:
            throw SparseWireError.config("unknown initializer '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }

    /// Fills `p` in place. `fanScale` multiplies the fan (edge-popup's scale-fan uses the density).
    public func fill(_ p: Parameter, rng: inout RNG, fanScale: Float = 1) {
        let (fi, fo) = p.fans
        func fan(_ m: FanMode) -> Float { Float(m == .fanIn ? fi : fo) * fanScale }
        let t = p.value
        let d = t.data
        switch self {
        case let .kaimingNormal(mode, gain):
            let std = gain / fan(mode).squareRoot()
            for i in 0..<t.count { d[i] = rng.normal() * std }
        case let .kaimingUniform(mode, gain):
            let b = gain * (3 / fan(mode)).squareRoot()
            for i in 0..<t.count { d[i] = rng.uniform(-b, b) }
        case let .xavierNormal(gain):
            let std = gain * (2 / (Float(fi + fo) * fanScale)).squareRoot()
            for i in 0..<t.count { d[i] = rng.normal() * std }
        case let .xavierUniform(gain):
            let b = gain * (6 / (Float(fi + fo) * fanScale)).squareRoot()
            for i in 0..<t.count { d[i] = rng.uniform(-b, b) }
        case let .signedConstant(mode, gain):
            let c = gain / fan(mode).squareRoot()
            for i in 0..<t.count { d[i] = rng.next() & 1 == 0 ? c : -c }
        case let .unsignedConstant(mode, gain):
            let c = gain / fan(mode).squareRoot()
            t.fill(c)
        case let .constant(v):
            t.fill(v)
        }
    }
}
