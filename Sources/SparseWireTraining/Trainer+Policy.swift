import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
extension Trainer {
    /// Binds another policy to the trained network (between epochs): masks, scores and frozen
    /// flags of the old policy are dropped, the new policy's `prepare` sees the current weights,
    /// and the optimizer starts fresh. On any error the old policy stays in place.
    public func switchPolicy(_ name: String, options: [String: ConfigValue], density: Double?) throws {
        let next = try config.switchingPolicy(to: name, options: options, density: density)
        _ = try RunSpec(config: next)  // the whole config's checks (e.g. a density the model's edge budgets replace)
        var nextSpec = spec
        nextSpec.masking = try spec.masking.switching(to: name, options: options, density: density)
        try runtime.run {
            let saved = network.parameters.map { ($0, $0.trainable, $0.mask) }
            for p in network.parameters { p.trainable = true; p.mask = nil }
            do {
                let engine = try MaskingEngine(network: network, spec: nextSpec.masking, rng: rng.fork())
                engine.sparseTraining = spec.training.kernels
                let opt = try spec.optimizer.make(network.parameters + engine.scoreParameters)
                engine.attach(optimizer: opt)
                masking = engine; optimizer = opt; config = next; spec = nextSpec
            } catch {
                for (p, t, m) in saved { p.trainable = t; p.mask = m }
                throw error
            }
        }
    }
}
