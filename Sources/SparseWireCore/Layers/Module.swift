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
        for l in layers { h = try l.forward(h, ctx) }
        return h
    }

    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }
    public var buffers: [(String, Tensor)] { layers.flatMap { $0.buffers } }
}

/// A parameter-free function as a module.
public final class Lambda: Module {
    let fn: (Var, Context) throws -> Var
    public init(_ fn: @escaping (Var, Context) throws -> Var) { self.fn = fn }
    public func forward(_ x: Var, _ ctx: Context) throws -> Var { try fn(x, ctx) }
    public var parameters: [Parameter] { [] }

    public static var relu: Lambda { Lambda { x, ctx in ctx.relu(x) } }
    public static var flatten: Lambda { Lambda { x, ctx in try ctx.flatten(x) } }
    public static func maxPool(_ k: Int, stride: Int? = nil) -> Lambda { Lambda { x, ctx in try ctx.maxPool2d(x, kernel: k, stride: stride) } }
    public static func avgPool(_ k: Int, stride: Int? = nil) -> Lambda { Lambda { x, ctx in try ctx.avgPool2d(x, kernel: k, stride: stride) } }
    public static var globalAvgPool: Lambda { Lambda { x, ctx in try ctx.globalAvgPool(x) } }
    public static func dropout(_ p: Float) -> Lambda { Lambda { x, ctx in try ctx.dropout(x, p: p) } }
}
