import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
extension Config {
    /// This config with another policy: `policy` set to `name`, every `policy_options.*` key
    /// replaced by `options`, and `density` set when given; the result's masking keys are
    /// validated against the policy. The one path of a policy change before and after the
    /// network is built (`Trainer.switchPolicy`, `sw_engine_set_policy`).
    /// Errors: `.config` naming the unknown policy or option, or the density out of range.
    public func switchingPolicy(to name: String, options: [String: ConfigValue], density: Double?) throws -> Config {
        var next = self
        try next.set("policy", value: .string(name))
        next.replacePolicyOptions(options)
        if let density { try next.set("density", value: .double(density)) }
        try PolicyRegistry.validate(MaskingSpec(config: next))
        return next
    }
}
