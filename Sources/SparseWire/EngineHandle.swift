import CSparseWire
import Foundation
import SparseWireCore

/// What an `sw_engine*` points at: the config, the data and (once built) the trainer.
final class EngineHandle {
    static let table = HandleTable<EngineHandle>(kind: "sw_engine")

    var config: Config
    var train: Dataset?
    var test: Dataset?
    private(set) var trainer: Trainer?
    /// C strings the engine hands out (policy name, layer names), freed with the engine.
    private var policyCString: UnsafeMutablePointer<CChar>?
    private var layerCStrings: [UnsafeMutablePointer<CChar>] = []

    /// One mutating call at a time (re-entrant callbacks and overlapping threads are refused).
    let calls = CallGuard(allowed: "sw_engine_progress, sw_engine_request_stop, sw_engine_policy, sw_engine_policy_name, "
                          + "sw_engine_is_built, sw_engine_input_shape, sw_engine_parameter_names, sw_engine_tensor_shape, "
                          + "sw_engine_get_tensor, sw_engine_layer_count, sw_engine_layer_density and sw_engine_parameter_counts")

    init(config: Config) { self.config = config }

    deinit {
        free(policyCString)
        layerCStrings.forEach { free($0) }
    }

    /// The trainer, built on first use from the config and the loaded data.
    func requireTrainer(_ why: String) throws -> Trainer {
        if let trainer { return trainer }
        guard let train, let test else {
            throw SparseWireError(.state, "\(why) needs data: call sw_engine_load_dataset or sw_engine_set_data first")
        }
        let t = try Trainer(config: config, train: train, test: test)
        trainer = t
        return t
    }

    func requireNotBuilt(_ why: String) throws {
        guard trainer == nil else {
            throw SparseWireError(.state, "\(why): the network is already built (training started); create a new engine")
        }
    }

    var policyName: String { trainer?.masking.descriptor.name ?? config.string("policy") }

    func policyNamePointer() -> UnsafePointer<CChar> {
        let name = policyName
        if let p = policyCString, String(cString: p) == name { return UnsafePointer(p) }
        free(policyCString)
        policyCString = strdup(name)
        return UnsafePointer(policyCString!)
    }

    /// Layer names as C strings owned by the engine (rebuilt when the policy changes).
    func layerNamePointers() throws -> [UnsafeMutablePointer<CChar>] {
        let layers = try requireTrainer("layer report").masking.layers
        if layerCStrings.count != layers.count || zip(layerCStrings, layers).contains(where: { String(cString: $0) != $1.name }) {
            layerCStrings.forEach { free($0) }
            layerCStrings = layers.map { strdup($0.name)! }
        }
        return layerCStrings
    }

    func setPolicy(_ name: String, options: [String: ConfigValue], density: Double?) throws {
        if let trainer {
            try trainer.switchPolicy(name, options: options, density: density)
            config = trainer.config
        } else {
            config = try config.switchingPolicy(to: name, options: options, density: density)
        }
    }

    /// Parameter lookup by name for the tensor accessors.
    func tensor(_ name: String, kind: sw_tensor_kind) throws -> Tensor {
        let t = try requireTrainer("tensor access")
        guard let p = t.network.parameters.first(where: { $0.name == name }) else {
            throw BoundaryError(SW_ERR_NOT_FOUND, "no parameter named '\(name)' (see sw_engine_parameter_names)")
        }
        switch kind {
        case SW_TENSOR_VALUE: return p.value
        case SW_TENSOR_MASK:
            guard let l = t.masking.layers.first(where: { $0.parameter === p }) else {
                throw BoundaryError(SW_ERR_NOT_FOUND, "'\(name)' has no mask (policy '\(policyName)' does not mask it)")
            }
            return l.mask
        case SW_TENSOR_SCORES:
            guard let s = t.masking.layers.first(where: { $0.parameter === p })?.scores else {
                throw BoundaryError(SW_ERR_NOT_FOUND, "'\(name)' has no scores (policy '\(policyName)' learns none for it)")
            }
            return s.value
        case SW_TENSOR_GRAD:
            guard let g = p.denseGradient() else { throw BoundaryError(SW_ERR_NOT_FOUND, "'\(name)' has no gradient yet (no step run)") }
            return g
        default:
            throw BoundaryError.argument("tensor kind \(kind) is not one of SW_TENSOR_VALUE/MASK/SCORES/GRAD (0…3)")
        }
    }
}
