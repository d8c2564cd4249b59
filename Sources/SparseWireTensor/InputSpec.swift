/// Input geometry of a dataset and the network that reads it: channels, height, width, classes.
public struct InputSpec: Equatable, Sendable {
    /// Sizes of one input in NCHW order without N (channels, height, width), and the class count.
    public var channels: Int, height: Int, width: Int, classes: Int
    /// A geometry from its four sizes (not validated).
    public init(channels: Int, height: Int, width: Int, classes: Int) {
        self.channels = channels; self.height = height; self.width = width; self.classes = classes
    }
    /// Values per input when flattened: channels · height · width.
    public var features: Int { channels * height * width }
}
