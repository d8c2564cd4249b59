import SparseWireTensor
/// A network part with parameters and an explicit forward pass; backward comes from the tape.
public protocol Module: AnyObject {
    func forward(_ x: Var, _ ctx: Context) throws -> Var
    /// Every parameter of this module and its children, in a stable order.
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the model (e.g. running statistics), by name.
    var buffers: [(String, Tensor)] { get }
}

extension Module {
    public var buffers: [(String, Tensor)] { [] }
}

/// Modules applied one after another.
public final class Sequential: Module {
    public let layers: [any Module]
    public init(_ layers: [any Module]) { self.layers = layers }

    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        var h = x
        var i = 0
        while i < layers.count {
            // Inference: conv/linear → ReLU in one output pass when the layer can (sparse kernels).
            if !ctx.recordGrad, i + 1 < layers.count, (layers[i + 1] as? Lambda)?.isReLU == true,
               let f = layers[i] as? ReLUFusable, let y = try f.forwardFusingReLU(h, ctx) {
                h = y
                i += 2
                continue
            }
            h = try layers[i].forward(h, ctx)
            i += 1
        }
        return h
    }

    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }
    public var buffers: [(String, Tensor)] { layers.flatMap { $0.buffers } }
}

/// A parameter-free function as a module.
public final class Lambda: Module {
    package let fn: (Var, Context) throws -> Var
    /// True for `Lambda.relu`: a preceding conv/linear may apply it in its own output pass.
    public let isReLU: Bool
    public init(_ fn: @escaping (Var, Context) throws -> Var) { self.fn = fn; isReLU = false }
    package init(relu: ()) { fn = { x, ctx in ctx.relu(x) }; isReLU = true }
    public func forward(_ x: Var, _ ctx: Context) throws -> Var { try fn(x, ctx) }
    public var parameters: [Parameter] { [] }

    public static var relu: Lambda { Lambda(relu: ()) }
    public static var flatten: Lambda { Lambda { x, ctx in try ctx.flatten(x) } }
    public static func maxPool(_ k: Int, stride: Int? = nil) -> Lambda { Lambda { x, ctx in try ctx.maxPool2d(x, kernel: k, stride: stride) } }
    public static func avgPool(_ k: Int, stride: Int? = nil) -> Lambda { Lambda { x, ctx in try ctx.avgPool2d(x, kernel: k, stride: stride) } }
    public static var globalAvgPool: Lambda { Lambda { x, ctx in try ctx.globalAvgPool(x) } }
    public static func dropout(_ p: Float) -> Lambda { Lambda { x, ctx in try ctx.dropout(x, p: p) } }
}

/// A layer that can apply a following ReLU in its own output pass (no gradient recorded).
package protocol ReLUFusable {
    /// The layer's output with ReLU applied, or nil when this layer cannot fuse here.
    func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var?
}
